using System.Net.Sockets;
using System.Security.Cryptography;
using ActorVpn.Client;
using ActorVpn.Protocol;
using ActorVpn.Testing;
using ActorVpn.Topology;
using ActorVpn.Wire;
using ActorVpn.Wire.Tests;
using Xunit;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.DataPlane.Tests;

/// <summary>
/// A returning client resumes its TLS session with each proxy; every proxy still binds the connection to the user's certificate
/// through its auth server, so a resumed session is judged as a new one: a revocation cuts it off, and a hand-off already used
/// is not held for it again.
/// </summary>
[Collection(nameof(TlsSessionCacheCollection))]
public sealed class ResumptionTests
{
    [Fact]
    public async Task A_returning_client_resumes_and_every_proxy_still_binds_the_session_to_its_user()
    {
        await using var chain = await StartWithCachedCredentialsAsync();
        using (var first = await chain.DialAsync())
        {
            await Traffic.EchoAndVerifyAsync(first.Tls, RandomNumberGenerator.GetBytes(16 * 1024), shutdown: null);
        }

        using var second = await chain.DialAsync();

        Assert.True(TlsSessionProbe.WasResumed(second.Tls), "the exit proxy's session was resumed");
        await Traffic.EchoAndVerifyAsync(second.Tls, RandomNumberGenerator.GetBytes(16 * 1024), shutdown: null);
        foreach (var proxy in chain.ProxyNames)
        {
            var session = Assert.Single((await chain.ProxyStatusAsync(proxy)).Sessions, s => s.HandOffId == second.HandOffId);
            Assert.Equal(ChainFixture.User, session.User);
        }
    }

    [Fact]
    public async Task Revoking_a_user_cuts_off_a_client_whose_sessions_would_resume()
    {
        await using var chain = await StartWithCachedCredentialsAsync();
        using (var resumed = await chain.DialAsync())
        {
            Assert.True(TlsSessionProbe.WasResumed(resumed.Tls));
        }

        Assert.IsType<UserRevokedAck>(await chain.Node.Control.AskAsync<object>(ChainFixture.Home, new RevokeUser(ChainFixture.User)));

        var failure = await Assert.ThrowsAsync<ChainException>(() => chain.DialAsync());
        Assert.Equal(ErrorCodes.CertificateRevoked, failure.Code);
    }

    [Fact]
    public async Task A_session_resumed_straight_at_a_later_proxy_is_refused_without_a_hand_off_held_for_it()
    {
        await using var chain = await StartWithCachedCredentialsAsync();
        string usedHandOff;
        using (var first = await chain.DialAsync())
        {
            usedHandOff = first.HandOffId;
        }

        // Straight to proxy2, as its hop would: its TLS session resumes, but the hand-off of the finished session was released
        // once the client had authenticated there, so nothing vouches for this connection.
        using var certificate = chain.Profile.CertificateWithKey();
        foreach (var handOff in new[] { usedHandOff, null })
        {
            using var deadline = new CancellationTokenSource(ChainFixture.Deadline);
            var proxy2 = HostPort.Parse(chain.Node.ProxyAddresses["proxy2"]);
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(proxy2.Host, proxy2.Port, deadline.Token);
            await using var transport = new NetworkStream(socket, ownsSocket: false);
            await using var tls = await TlsHop.ConnectAsync(transport, TlsHop.ServerNameForHop(1), certificate, _ => true, deadline.Token);
            Assert.True(TlsSessionProbe.WasResumed(tls), "proxy2's session was resumed");

            await FrameCodec.WriteAsync(tls, new AuthRequest(ChainFixture.Destination, handOff), deadline.Token);
            Assert.IsType<Refused>(await FrameCodec.ReadAsync(tls, deadline.Token));
        }
    }

    [Fact]
    public async Task A_request_pipelined_behind_a_refused_authentication_is_never_carried_out()
    {
        // The client writes its next request right behind its authentication request (one round trip saved per hop); a
        // proxy must read it only once its auth server accepted the client (Fig. 6, step 607). Here nothing vouches for the
        // client at proxy3, the exit: it refuses, closes, and never connects to the destination the request names.
        await using var chain = await ChainFixture.StartAsync(3);
        using var certificate = chain.Profile.CertificateWithKey();
        using var deadline = new CancellationTokenSource(ChainFixture.Deadline);
        var proxy3 = HostPort.Parse(chain.Node.ProxyAddresses["proxy3"]);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(proxy3.Host, proxy3.Port, deadline.Token);
        await using var transport = new NetworkStream(socket, ownsSocket: false);
        await using var tls = await TlsHop.ConnectAsync(transport, TlsHop.ServerNameForHop(2), certificate, _ => true, deadline.Token);

        var destinationConnections = chain.Echo.Connections;
        await tls.WriteAsync((byte[])[.. FrameCodec.Encode(new AuthRequest(ChainFixture.Destination, HandOffId: null)),
            .. FrameCodec.Encode(new ConnectDestination(ChainFixture.Destination))], deadline.Token);
        await tls.FlushAsync(deadline.Token);

        Assert.IsType<Refused>(await FrameCodec.ReadAsync(tls, deadline.Token));
        // The proxy ended its side after the refusal (FIN) and sent nothing more; the request it never read did not turn its
        // close into a reset, which could have dropped the refusal.
        var after = await Assert.ThrowsAsync<FrameException>(async () => await FrameCodec.ReadAsync(tls, deadline.Token));
        Assert.Equal(FrameError.Truncated, after.Error);
        Assert.Equal(destinationConnections, chain.Echo.Connections);
        // The refused connection's session ends (its proxy hears of it a moment after the client does): none of alice's stays.
        await chain.Kit.AwaitAssertAsync(
            async () => Assert.DoesNotContain((await chain.ProxyStatusAsync("proxy3")).Sessions, s => s.User == ChainFixture.User), ChainFixture.Deadline);
    }

    /// <summary>
    /// A chain through which alice has made one session already, so every certificate a session uses (hers, each proxy's) is in
    /// .NET's process-wide cache of TLS credentials. .NET keeps a client's resumable sessions with its cached credential, and
    /// sweeps the cache each time a 32nd new certificate enters it; a session stored while the chain's own certificates were
    /// still entering could be swept away with its credential. A test that asserts a resumption starts from here.
    /// </summary>
    private static async Task<ChainFixture> StartWithCachedCredentialsAsync()
    {
        var chain = await ChainFixture.StartAsync(3);
        try
        {
            using var first = await chain.DialAsync();
            return chain;
        }
        catch
        {
            await chain.DisposeAsync();
            throw;
        }
    }
}
