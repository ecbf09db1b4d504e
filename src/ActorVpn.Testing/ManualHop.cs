using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.Client;
using ActorVpn.Topology;
using ActorVpn.Wire;

namespace ActorVpn.Testing;

/// <summary>
/// One hop of Fig. 5 driven by hand, for tests that must stop a client between steps or send what
/// a real client never would: a TCP connection to a proxy, TLS 1.3 with the user's certificate 1,
/// then control frames one at a time.
/// </summary>
public sealed class ManualHop : IAsyncDisposable
{
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(30);

    private ManualHop(Socket socket, NetworkStream transport, SslStream tls)
    {
        Socket = socket;
        Transport = transport;
        Tls = tls;
    }

    public Socket Socket { get; }

    /// <summary>The plain stream under the TLS layer (a test may start another TLS hop inside it).</summary>
    public NetworkStream Transport { get; }

    public SslStream Tls { get; }

    /// <param name="verifyProxy">Whether the proxy's identity is accepted; by default any (the test is about what follows).</param>
    public static async Task<ManualHop> OpenAsync(string address, ClientProfile profile, Func<X509Certificate2, bool>? verifyProxy = null)
    {
        var at = HostPort.Parse(address);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var deadline = new CancellationTokenSource(DefaultDeadline);
            await socket.ConnectAsync(at.Host, at.Port, deadline.Token);
            var transport = new NetworkStream(socket, ownsSocket: false);
            using var certificate = profile.CertificateWithKey();
            var tls = await TlsHop.ConnectAsync(transport, TlsHop.ServerName, certificate, verifyProxy ?? (_ => true), deadline.Token);
            return new ManualHop(socket, transport, tls);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task<ControlMessage> AskAsync(ControlMessage request)
    {
        using var deadline = new CancellationTokenSource(DefaultDeadline);
        await FrameCodec.WriteAsync(Tls, request, deadline.Token);
        return await FrameCodec.ReadAsync(Tls, deadline.Token);
    }

    /// <summary>The next frame the proxy sends, or null if it closed the connection instead.</summary>
    public async Task<ControlMessage?> TryReadAsync(TimeSpan? within = null)
    {
        using var deadline = new CancellationTokenSource(within ?? DefaultDeadline);
        try
        {
            return await FrameCodec.ReadAsync(Tls, deadline.Token);
        }
        catch (Exception e) when (e is FrameException { Error: FrameError.Truncated } or IOException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Tls.DisposeAsync();
        await Transport.DisposeAsync();
        Socket.Dispose();
    }
}
