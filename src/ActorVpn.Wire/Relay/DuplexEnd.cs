using System.Net.Security;
using System.Net.Sockets;

namespace ActorVpn.Wire;

/// <summary>One side of a relayed connection: a stream plus how to half-close its write side.</summary>
public sealed class DuplexEnd
{
    private readonly Func<ValueTask> _shutdownWrite;
    private readonly Action _abort;

    /// <summary>A generic end; tearing it down disposes <paramref name="stream"/>.</summary>
    public DuplexEnd(Stream stream, Func<ValueTask> shutdownWrite)
        : this(stream, shutdownWrite, stream.Dispose)
    {
    }

    private DuplexEnd(Stream stream, Func<ValueTask> shutdownWrite, Action abort)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(shutdownWrite);
        Stream = stream;
        _shutdownWrite = shutdownWrite;
        _abort = abort;
    }

    public Stream Stream { get; }

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
            });
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
            });
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
