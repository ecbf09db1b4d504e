using System.Net.Sockets;

namespace ActorVpn.Wire;

/// <summary>Accepts connections on a bound listener until cancelled, handing each to <c>onAccepted</c> (an actor's Tell).</summary>
public static class AcceptLoop
{
    /// <remarks>The returned task always completes successfully once the loop stops (never cancelled), so owners can await it on disposal.</remarks>
    public static Task RunAsync(Socket listener, Action<Socket> onAccepted, CancellationToken ct) => Task.Run(async () =>
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var socket = await listener.AcceptAsync(ct);
                socket.NoDelay = true;
                onAccepted(socket);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // A connection reset before it was accepted: keep accepting.
            }
        }
    });
}
