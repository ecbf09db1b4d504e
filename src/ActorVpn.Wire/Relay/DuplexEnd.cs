using System.Net.Security;
using System.Net.Sockets;

namespace ActorVpn.Wire;

/// <summary>One side of a relayed connection: a stream plus how to half-close its write side.</summary>
public sealed class DuplexEnd
{
    private readonly Func<ValueTask> _shutdownWrite;
    private readonly Action _abort;
    private readonly Func<bool> _dataWaiting;

    /// <summary>A generic end; tearing it down disposes <paramref name="stream"/>.</summary>
    /// <param name="dataWaiting">Whether a read would return at once (more bytes already arrived); the relay then keeps its buffer
    /// and reads again instead of waiting with a zero-byte read. Without it every read is treated as one that might block.</param>
    public DuplexEnd(Stream stream, Func<ValueTask> shutdownWrite, Func<bool>? dataWaiting = null)
        : this(stream, shutdownWrite, stream.Dispose, null, raw: false, dataWaiting)
    {
    }

    private DuplexEnd(Stream stream, Func<ValueTask> shutdownWrite, Action abort, Socket? socket, bool raw, Func<bool>? dataWaiting = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(shutdownWrite);
        Stream = stream;
        _shutdownWrite = shutdownWrite;
        _abort = abort;
        Socket = socket;
        IsRawSocket = raw;
        _dataWaiting = dataWaiting ?? (socket is null ? static () => false : () => BytesWaiting(socket));
    }

    public Stream Stream { get; }

    /// <summary>The TCP socket under <see cref="Stream"/>, if there is one.</summary>
    internal Socket? Socket { get; }

    /// <summary>The stream is the socket's bytes as they are (no TLS layer here), so the kernel may move them itself (splice).</summary>
    internal bool IsRawSocket { get; }

    /// <summary>Bytes have already arrived, so a read now would not block.</summary>
    internal bool DataWaiting => _dataWaiting();

    /// <summary>
    /// Raw TCP: half-close = <c>socket.Shutdown(Send)</c>. The stream is <paramref name="overStream"/> if given
    /// (e.g. an existing <see cref="NetworkStream"/>), else a new <see cref="NetworkStream"/> that owns the socket.
    /// Tearing it down resets the connection (RST).
    /// </summary>
    public static DuplexEnd ForSocket(Socket socket, Stream? overStream = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var stream = overStream ?? new NetworkStream(socket, ownsSocket: true);
        return new DuplexEnd(
            stream,
            () =>
            {
                socket.Shutdown(SocketShutdown.Send);
                return ValueTask.CompletedTask;
            },
            () =>
            {
                Reset(socket);
                stream.Dispose();
            },
            socket,
            // Only a plain NetworkStream may be bypassed by splice(2): any other stream over the socket
            // (one that observes, buffers or transforms) must see every byte, so it goes through the pump.
            raw: overStream is null or NetworkStream);
    }

    /// <summary>
    /// TLS over TCP: half-close = <c>ShutdownAsync()</c> (close_notify), then <c>socket.Shutdown(Send)</c>.
    /// Tearing it down resets the TCP connection (RST) and disposes the TLS stream.
    /// </summary>
    public static DuplexEnd ForTls(SslStream tls, Socket socket)
    {
        ArgumentNullException.ThrowIfNull(tls);
        ArgumentNullException.ThrowIfNull(socket);
        return new DuplexEnd(
            tls,
            async () =>
            {
                await tls.ShutdownAsync().ConfigureAwait(false);
                socket.Shutdown(SocketShutdown.Send);
            },
            () =>
            {
                Reset(socket);
                tls.Dispose();
            },
            socket,
            raw: false);
    }

    internal ValueTask ShutdownWriteAsync() => _shutdownWrite();

    /// <summary>Tears the end down; never throws.</summary>
    internal void Abort()
    {
        try
        {
            _abort();
        }
        catch (Exception)
        {
            // Teardown is best effort: the connection may already be gone.
        }
    }

    private static bool BytesWaiting(Socket socket)
    {
        try
        {
            return socket.Available > 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed under the relay: let the next read report it.
            return false;
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception)
        {
            // Already closed or not connected: a plain close is all that is left.
        }

        socket.Dispose();
    }
}
