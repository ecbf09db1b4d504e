using System.Net.Sockets;
using Xunit;

namespace ActorVpn.Wire.Tests;

/// <summary>An accept that fails for want of file descriptors pauses the loop (logged), instead of spinning a core retrying at once.</summary>
public sealed class AcceptLoopTests
{
    [Fact]
    public async Task Out_of_file_descriptors_backs_off_doubling_to_a_bound_and_an_accept_that_works_resets_it()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var pair = await SocketPair.CreateAsync();
        var script = new Queue<Socket?>([null, null, null, null, null, null, null, pair.Server, null]);
        var pauses = new List<TimeSpan>();
        var logged = new List<TimeSpan>();
        var accepted = new List<Socket>();

        ValueTask<Socket> Accept(CancellationToken ct)
        {
            if (!script.TryDequeue(out var next))
            {
                stop.Cancel();
                throw new OperationCanceledException(ct);
            }

            return next is null ? throw new SocketException((int)SocketError.TooManyOpenSockets) : ValueTask.FromResult(next);
        }

        await AcceptLoop.RunAsync(Accept, accepted.Add, stop.Token, (_, pause) => logged.Add(pause), (pause, _) =>
        {
            pauses.Add(pause);
            return Task.CompletedTask;
        });

        var ms = pauses.Select(p => (int)p.TotalMilliseconds).ToList();
        Assert.Equal([50, 100, 200, 400, 800, 1000, 1000, 50], ms);
        Assert.Equal(pauses, logged);
        Assert.Equal([pair.Server], accepted);
    }
}
