using System.Net.Sockets;

namespace ActorVpn.Wire;

/// <summary>Accepts connections on a bound listener until cancelled, handing each to <c>onAccepted</c> (an actor's Tell).</summary>
public static class AcceptLoop
{
    /// <summary>The first pause after an accept that failed for want of resources; it doubles up to <see cref="MaxBackOff"/>.</summary>
    public static readonly TimeSpan MinBackOff = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest pause between accepts while the process stays out of resources.</summary>
    public static readonly TimeSpan MaxBackOff = TimeSpan.FromSeconds(1);

    /// <param name="onBackOff">Told (to log it) each time accepting pauses: why, and for how long.</param>
    /// <remarks>The returned task always completes successfully once the loop stops (never cancelled), so owners can await it on disposal.</remarks>
    public static Task RunAsync(Socket listener, Action<Socket> onAccepted, CancellationToken ct, Action<SocketException, TimeSpan>? onBackOff = null) =>
        RunAsync(listener.AcceptAsync, onAccepted, ct, onBackOff, Task.Delay);

    /// <summary>The loop itself, with the accept and the pause given (tests run it without a listener or a clock).</summary>
    public static Task RunAsync(Func<CancellationToken, ValueTask<Socket>> accept, Action<Socket> onAccepted, CancellationToken ct,
        Action<SocketException, TimeSpan>? onBackOff, Func<TimeSpan, CancellationToken, Task> pause) => Task.Run(async () =>
    {
        var backOff = TimeSpan.Zero;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var socket = await accept(ct);
                socket.NoDelay = true;
                backOff = TimeSpan.Zero;
                onAccepted(socket);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (OutOfResources(e.SocketErrorCode))
            {
                // Out of file descriptors or buffers: accepting again at once fails the same way and
                // spins a core; pause (doubling, bounded) so connections that end can free some.
                backOff = backOff == TimeSpan.Zero ? MinBackOff : TimeSpan.FromTicks(Math.Min(backOff.Ticks * 2, MaxBackOff.Ticks));
                onBackOff?.Invoke(e, backOff);
                try
                {
                    await pause(backOff, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (SocketException)
            {
                // A connection reset before it was accepted: keep accepting.
            }
        }
    });

    private static bool OutOfResources(SocketError error) =>
        error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable or SocketError.SystemNotReady;
}
