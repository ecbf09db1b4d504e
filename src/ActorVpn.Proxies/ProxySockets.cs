using System.Net.Sockets;
using ActorVpn.Topology;

namespace ActorVpn.Proxies;

/// <summary>The TCP ends of a proxy connection: the connection onwards (Fig. 6, step 608) and how either end is closed (step 609).</summary>
internal static class ProxySockets
{
    /// <summary>The peer's IP address (no port: one source's many connections are one source in the audit trail).</summary>
    public static string PeerAddressOf(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint is System.Net.IPEndPoint ip ? ip.Address.ToString() : "?";
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return "?";
        }
    }

    /// <summary>Fig. 6, step 608: connects onwards with Nagle off, since the control frames and TLS handshakes that follow are small.</summary>
    public static async Task<Socket> ConnectAsync(HostPort endpoint, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, deadline.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// After a clean relay (both directions reached EOF and were half-closed onwards) the socket is closed
    /// gracefully, so bytes still in its send buffer reach the peer; otherwise it is reset (RST).
    /// </summary>
    public static void Close(Socket socket, bool graceful)
    {
        try
        {
            if (graceful)
            {
                socket.Dispose();
                return;
            }

            socket.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
