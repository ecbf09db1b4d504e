using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.Protocol;
using ActorVpn.Proxies;
using ActorVpn.Topology;
using ActorVpn.Wire;
using Akka.TestKit.Xunit2;
using Xunit;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.DataPlane.Tests;

/// <summary>
/// Fig. 6, steps 602-605 at one proxy connection: the client's request goes to the proxy's own auth server, whose answer, or its
/// silence, decides what the client hears. The auth server here is a probe, so each answer is exactly the one under test.
/// </summary>
public sealed class AuthAnswerTests() : TestKit("akka.loglevel = WARNING")
{
    private static readonly TimeSpan TestDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_refusal_from_the_auth_server_reaches_the_client_with_its_code()
    {
        var authServer = CreateTestProbe();
        await using var client = await ConnectAsync(authServer, DataPlaneSettings.Default);
        using var deadline = new CancellationTokenSource(TestDeadline);

        await FrameCodec.WriteAsync(client.Tls, new AuthRequest("server", null), deadline.Token);
        var request = await authServer.ExpectMsgAsync<AuthenticateClient>(cancellationToken: deadline.Token);
        Assert.Equal("proxy1", request.Proxy);
        Assert.Equal(client.Certificate.RawData, request.UserCertificateDer);
        authServer.Reply(new ClientRefused(new HandOffError(ErrorCodes.CertificateRevoked, "as1", "Fig. 7, step 702", "alice was revoked"), ["as1"]));

        var refused = Assert.IsType<Refused>(await FrameCodec.ReadAsync(client.Tls, deadline.Token));
        Assert.Equal(ErrorCodes.CertificateRevoked, refused.Code);
        Assert.Equal("as1", refused.At);
        Assert.Equal("alice was revoked", refused.Message);

        // Then the proxy ends its side (FIN), not with a reset: a reset may drop a refusal the kernel has not sent yet.
        var end = await Assert.ThrowsAsync<FrameException>(async () => await FrameCodec.ReadAsync(client.Tls, deadline.Token));
        Assert.Equal(FrameError.Truncated, end.Error);
    }

    [Fact]
    public async Task A_refused_client_that_keeps_its_connection_open_is_let_go_once_the_refusal_linger_is_over()
    {
        var authServer = CreateTestProbe();
        var settings = DataPlaneSettings.Default with { RefusalLinger = TimeSpan.FromMilliseconds(200) };
        await using var client = await ConnectAsync(authServer, settings);
        using var deadline = new CancellationTokenSource(TestDeadline);

        await FrameCodec.WriteAsync(client.Tls, new AuthRequest("server", null), deadline.Token);
        await authServer.ExpectMsgAsync<AuthenticateClient>(cancellationToken: deadline.Token);
        authServer.Reply(new ClientRefused(new HandOffError(ErrorCodes.CertificateRevoked, "as1", "Fig. 7, step 702", "alice was revoked"), ["as1"]));
        Assert.IsType<Refused>(await FrameCodec.ReadAsync(client.Tls, deadline.Token));
        await Assert.ThrowsAsync<FrameException>(async () => await FrameCodec.ReadAsync(client.Tls, deadline.Token));

        // The client still writes; the proxy reads and drops it while it lingers, then lets the connection go (its writes then
        // fail): a client that never closes holds nothing at the proxy for longer than the linger.
        using var ticks = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        var reset = await Assert.ThrowsAsync<IOException>(async () =>
        {
            while (await ticks.WaitForNextTickAsync(deadline.Token))
            {
                await client.Transport.WriteAsync(new byte[64], deadline.Token);
            }
        });
        Assert.False(deadline.IsCancellationRequested, "the connection was still open when the test's deadline passed");
        Assert.IsType<SocketException>(reset.InnerException);
    }

    [Fact]
    public async Task A_client_whose_proxy_hears_nothing_from_its_auth_server_is_let_go_at_the_auth_timeout_not_the_handshake_deadline()
    {
        var authServer = CreateTestProbe();
        // The handshake deadline is far beyond the test's own: the connection can only end here by the auth timeout.
        var settings = DataPlaneSettings.Default with { HandshakeTimeout = TimeSpan.FromMinutes(10), AuthTimeout = TimeSpan.FromMilliseconds(300) };
        await using var client = await ConnectAsync(authServer, settings);
        using var deadline = new CancellationTokenSource(TestDeadline);

        await FrameCodec.WriteAsync(client.Tls, new AuthRequest("server", null), deadline.Token);
        await authServer.ExpectMsgAsync<AuthenticateClient>(cancellationToken: deadline.Token);

        // Never answered: the proxy gives up on step 604 and closes the connection, so the client's next read ends.
        await Assert.ThrowsAnyAsync<Exception>(async () => await FrameCodec.ReadAsync(client.Tls, deadline.Token));
        Assert.False(deadline.IsCancellationRequested, "the connection was still open when the test's deadline passed");
    }

    /// <summary>A proxy connection actor on an accepted socket and a client that finished TLS with it.</summary>
    private async Task<ClientEnd> ConnectAsync(Akka.TestKit.TestProbe authServer, DataPlaneSettings settings)
    {
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = new CancellationTokenSource(TestDeadline);
        await socket.ConnectAsync(listener.LocalEndPoint!, deadline.Token);
        var accepted = await listener.AcceptAsync(deadline.Token);

        var proxy = new ProxySpec("proxy1", "as1", new HostPort("127.0.0.1", 0));
        Sys.ActorOf(ProxyConnectionActor.Props(proxy, authServer.Ref, SelfSigned("proxy1"), settings, accepted, new SessionCounters("proxy1-1")));
        var certificate = SelfSigned("alice");
        var transport = new NetworkStream(socket, ownsSocket: true);
        var tls = await TlsHop.ConnectAsync(transport, TlsHop.ServerNameForHop(0), certificate, _ => true, deadline.Token);
        return new ClientEnd(transport, tls, certificate);
    }

    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
    }

    private sealed record ClientEnd(NetworkStream Transport, System.Net.Security.SslStream Tls, X509Certificate2 Certificate) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Tls.DisposeAsync();
            await Transport.DisposeAsync();
            Certificate.Dispose();
        }
    }
}
