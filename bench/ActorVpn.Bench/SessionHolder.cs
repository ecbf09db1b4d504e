using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace ActorVpn.Bench;

/// <summary>
/// Child mode <c>--hold PORT,PORT,...</c>: the load generator of the concurrent-sessions phase, in a process of its own.
/// It opens echo sessions through the <c>avpn connect</c> listeners (round robin) and holds them idle, one command per
/// stdin line, one answer per stdout line:
/// <list type="bullet">
/// <item><c>open N INFLIGHT SECONDS</c> → <c>opened HELD FAILURES SECONDS FIRST-ERROR</c>: opens until N are held
/// (every one carried a byte to the destination and back), at most INFLIGHT set-ups at once, for at most SECONDS.</item>
/// <item><c>probe K</c> → <c>probe FAILURES MS...</c>: K new set-ups one after another, each closed once echoed.</item>
/// <item><c>echo K</c> → <c>echo OK CHECKED</c>: K held sessions, spread over all, each echo 32 fresh bytes intact.</item>
/// </list>
/// It closes every session when stdin closes.
/// </summary>
internal static class SessionHolder
{
    private const int MaxFailures = 50;

    public static async Task<int> RunAsync(string[] args)
    {
        var ports = args[Array.IndexOf(args, "--hold") + 1].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        var held = new List<Socket>();
        var next = 0;
        int Port() => ports[(Interlocked.Increment(ref next) & int.MaxValue) % ports.Length];
        try
        {
            while (await Console.In.ReadLineAsync() is { } line)
            {
                var words = line.Split(' ');
                var answer = words[0] switch
                {
                    "open" => await OpenAsync(held, Port, Number(1), Number(2), TimeSpan.FromSeconds(Number(3))),
                    "probe" => await ProbeAsync(Port, Number(1)),
                    "echo" => await EchoAsync(held, Number(1)),
                    _ => $"unknown command {words[0]}",
                };
                Console.Out.WriteLine(answer);
                Console.Out.Flush();

                int Number(int i) => int.Parse(words[i], CultureInfo.InvariantCulture);
            }
        }
        finally
        {
            foreach (var s in held)
            {
                s.Dispose();
            }
        }

        return 0;
    }

    private static async Task<string> OpenAsync(List<Socket> held, Func<int> port, int target, int inFlight, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        var (opening, failures) = (0, 0);
        string? firstError = null;
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < within && Volatile.Read(ref failures) < MaxFailures)
            {
                lock (held)
                {
                    if (held.Count + opening >= target)
                    {
                        return;
                    }

                    opening++;
                }

                try
                {
                    var s = await Load.OpenEchoAsync(port());
                    lock (held)
                    {
                        held.Add(s);
                    }
                }
                catch (Exception e) when (e is SocketException or InvalidOperationException or OperationCanceledException or IOException)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstError, $"{e.GetType().Name}: {e.Message}".ReplaceLineEndings(" "), null);
                }
                finally
                {
                    lock (held)
                    {
                        opening--;
                    }
                }
            }
        })));
        return FormattableString.Invariant($"opened {held.Count} {failures} {clock.Elapsed.TotalSeconds:0.0} {firstError ?? "-"}");
    }

    private static async Task<string> ProbeAsync(Func<int> port, int count)
    {
        var times = new List<string>();
        var failures = 0;
        for (var i = 0; i < count; i++)
        {
            try
            {
                times.Add((await Load.SetUpMsAsync(port())).ToString("0.00", CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is SocketException or InvalidOperationException or OperationCanceledException)
            {
                failures++;
            }
        }

        return $"probe {failures} {string.Join(' ', times)}";
    }

    private static async Task<string> EchoAsync(List<Socket> held, int count)
    {
        var chosen = Enumerable.Range(0, Math.Min(count, held.Count)).Select(i => held[(int)((long)i * held.Count / Math.Max(1, count))]).ToList();
        var ok = 0;
        foreach (var s in chosen)
        {
            var sent = new byte[32];
            Random.Shared.NextBytes(sent);
            var back = new byte[32];
            try
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await s.SendAsync(sent, SocketFlags.None, deadline.Token);
                var got = 0;
                while (got < back.Length)
                {
                    var n = await s.ReceiveAsync(back.AsMemory(got), SocketFlags.None, deadline.Token);
                    if (n == 0)
                    {
                        break;
                    }

                    got += n;
                }

                ok += got == back.Length && sent.AsSpan().SequenceEqual(back) ? 1 : 0;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // counted as not intact
            }
        }

        return $"echo {ok} {chosen.Count}";
    }
}
