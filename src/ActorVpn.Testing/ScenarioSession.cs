using System.Net.Sockets;
using System.Security.Cryptography;

namespace ActorVpn.Testing;

/// <summary>One local application connection through the chain (what an application using <c>avpn connect</c> holds).</summary>
public sealed class ScenarioSession : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    internal ScenarioSession(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Sends <paramref name="bytes"/> random bytes to the echo destination and checks every byte comes back intact.</summary>
    /// <returns>false if what came back differs (corruption); throws if the connection closes or the deadline passes.</returns>
    public async Task<bool> RoundTripAsync(int bytes, TimeSpan? within = null)
    {
        using var deadline = new CancellationTokenSource(within ?? VpnScenario.DefaultDeadline);
        var payload = RandomNumberGenerator.GetBytes(bytes);
        var sending = _stream.WriteAsync(payload, deadline.Token).AsTask();
        var received = new byte[bytes];
        await _stream.ReadExactlyAsync(received, deadline.Token);
        await sending;
        return received.AsSpan().SequenceEqual(payload);
    }

    /// <summary>True once the chain closed this application connection (end of stream or reset) within the deadline.</summary>
    public async Task<bool> ClosedByChainAsync(TimeSpan? within = null)
    {
        using var deadline = new CancellationTokenSource(within ?? VpnScenario.DefaultDeadline);
        var buffer = new byte[16 * 1024];
        try
        {
            while (await _stream.ReadAsync(buffer, deadline.Token) > 0)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
