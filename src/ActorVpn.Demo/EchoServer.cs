using System.Net;
using System.Net.Sockets;
using ActorVpn.Topology;
using ActorVpn.Wire;

namespace ActorVpn.Demo;

/// <summary>A small destination service for <c>avpn demo</c> and tests: echoes every byte, honours half-close.</summary>
public sealed class EchoServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private int _connections;

    public EchoServer(HostPort listen)
    {
        _listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(new IPEndPoint(IPAddress.Parse(listen.Host == "localhost" ? "127.0.0.1" : listen.Host), listen.Port));
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            throw new InvalidOperationException($"the demo's destination cannot listen on {listen}: {e.Message}", e);
        }

        _listener.Listen(256);
        var bound = (IPEndPoint)_listener.LocalEndPoint!;
        Address = new HostPort(bound.Address.ToString(), bound.Port);
        _loop = AcceptLoop.RunAsync(_listener, socket => _ = EchoAsync(socket), _stopping.Token);
    }

    public HostPort Address { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    private async Task EchoAsync(Socket socket)
    {
        Interlocked.Increment(ref _connections);
        using var _ = socket;
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, _stopping.Token)) > 0)
            {
                await stream.WriteAsync(buffer.AsMemory(0, read), _stopping.Token);
            }

            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Dispose();
        await _loop;
        _stopping.Dispose();
    }
}
