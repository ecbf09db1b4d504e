using System.Buffers;
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
    /// Ends a client connection once a refusal has been written to it (Fig. 6, step 605), so that the client reads the refusal
    /// and its code. A reset would lose it: the kernel drops whatever it has not sent yet, and a socket closed while the client's
    /// pipelined request is still unread is reset whatever its linger setting. So the send side ends first (the refusal, then
    /// FIN); what the client still sends is read and dropped until it closes its side, then the socket is closed. A client
    /// that keeps the connection open past <paramref name="linger"/> is reset. <paramref name="admission"/>, the connection's
    /// place among the unauthenticated ones, is held until then: a lingering connection is still a connection from that client.
    /// </summary>
    public static async Task CloseAfterRefusalAsync(Socket socket, TimeSpan linger, IDisposable? admission)
    {
        var graceful = false;
        var scratch = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            socket.Shutdown(SocketShutdown.Send);
            using var deadline = new CancellationTokenSource(linger);
            while (await socket.ReceiveAsync(scratch, SocketFlags.None, deadline.Token).ConfigureAwait(false) > 0)
            {
                // dropped: nothing the client sends after a refusal is read
            }

            graceful = true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client reset the connection, or kept it open past the linger: it is reset below.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
            Close(socket, graceful);
            admission?.Dispose();
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
