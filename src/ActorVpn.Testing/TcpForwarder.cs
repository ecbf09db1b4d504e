using System.Net;
using System.Net.Sockets;

namespace ActorVpn.Testing;

/// <summary>
/// Accepts TCP connections on one address and copies their bytes both ways to another, as a Service
/// does in front of a pod (a LoadBalancer's or NodePort's address forwarded to the pod's port), or as
/// a route does from a test's network namespace to a server that listens on loopback only.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<IPEndPoint> _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    /// <param name="listen">Where to accept (port 0: any free port, see <see cref="Address"/>).</param>
    /// <param name="target">Where each accepted connection is forwarded.</param>
    public TcpForwarder(IPEndPoint listen, IPEndPoint target)
        : this(listen, () => target)
    {
    }

    /// <param name="listen">Where to accept (port 0: any free port, see <see cref="Address"/>).</param>
    /// <param name="target">Asked for each accepted connection: where it is forwarded (a backend known only once it has started).</param>
    public TcpForwarder(IPEndPoint listen, Func<IPEndPoint> target)
    {
        _target = target;
        _listener = new TcpListener(listen);
        _listener.Start();
        Address = (IPEndPoint)_listener.LocalEndpoint;
        _accepting = AcceptAsync();
    }

    /// <summary>The address connections are accepted on.</summary>
    public IPEndPoint Address { get; }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket inbound;
            try
            {
                inbound = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ForwardAsync(inbound);
        }
    }

    private async Task ForwardAsync(Socket inbound)
    {
        using (inbound)
        using (var outbound = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                await outbound.ConnectAsync(_target(), _stop.Token);
                await using var a = new NetworkStream(inbound, ownsSocket: false);
                await using var b = new NetworkStream(outbound, ownsSocket: false);
                // A half-close is passed on (the other direction keeps flowing); a reset ends the pair.
                await Task.WhenAll(CopyAsync(a, b, inbound, outbound), CopyAsync(b, a, outbound, inbound));
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // the peer went away or the forwarder stops: the connection ends with it
            }
        }
    }

    private async Task CopyAsync(Stream from, Stream to, Socket fromSocket, Socket toSocket)
    {
        try
        {
            await from.CopyToAsync(to, _stop.Token);
            toSocket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // one side reset or the forwarder stops: wake the other direction so the pair ends
            foreach (var socket in new[] { fromSocket, toSocket })
            {
                try
                {
                    socket.Shutdown(SocketShutdown.Both);
                }
                catch (Exception closed) when (closed is SocketException or ObjectDisposedException)
                {
                    // already closed
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
