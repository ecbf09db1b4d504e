using System.Diagnostics;
using System.Globalization;
using ActorVpn.Topology;

namespace ActorVpn.Bench;

/// <summary>
/// Only the set-up cases of the shipped ActorVpn (<c>avpn up</c> + <c>avpn connect</c>, two processes; the destination in a
/// third): p50 sequential, set-ups/s with 20 and 100 in parallel and the CPU each costs, for a quick before/after comparison
/// (<c>bench/run.sh --setups [--rounds N] [--profile-seconds N]</c>). No report is written.
/// </summary>
internal static class SetUpBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = int.Parse(ArgValue(args, "--rounds") ?? "3", CultureInfo.InvariantCulture);
        var profileSeconds = double.Parse(ArgValue(args, "--profile-seconds") ?? "0", CultureInfo.InvariantCulture);
        var tmp = Directory.CreateTempSubdirectory("avpn-setups").FullName;
        Procs.Init(Path.Combine(tmp, "pids"));
        try
        {
            using var destination = new OutsideDestination();
            var topology = ExampleTopology.Text.Replace("127.0.0.1:9000", $"127.0.0.1:{destination.Port}", StringComparison.Ordinal);
            using var shipped = await ShippedAvpn.StartAsync(tmp, topology);
            for (var i = 0; i < 20; i++)
            {
                await Load.SetUpMsAsync(shipped.LocalPort);
            }

            if (profileSeconds > 0)
            {
                // A steady stream of set-ups, 20 in flight, to profile warm code: perf record -p the printed pids meanwhile.
                Log($"profiling window of {profileSeconds:0} s: avpn pids {string.Join(" ", shipped.Pids)}, destination {destination.Pid}");
                var window = Stopwatch.StartNew();
                var done = 0;
                await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
                {
                    while (window.Elapsed.TotalSeconds < profileSeconds)
                    {
                        await Load.SetUpMsAsync(shipped.LocalPort);
                        Interlocked.Increment(ref done);
                    }
                })));
                Log($"profiling window over: {done / window.Elapsed.TotalSeconds:0} set-ups/s");
            }

            for (var round = 1; round <= rounds; round++)
            {
                var sequential = new List<double>();
                var cpu0 = CpuTree.Seconds([.. shipped.Pids]);
                for (var i = 0; i < 100; i++)
                {
                    sequential.Add(await Load.SetUpMsAsync(shipped.LocalPort));
                }

                var cpu1 = CpuTree.Seconds([.. shipped.Pids]);
                var twenty = await ParallelAsync(shipped.LocalPort, 200, 20);
                var cpu2 = CpuTree.Seconds([.. shipped.Pids]);
                var hundred = await ParallelAsync(shipped.LocalPort, 300, 100);
                Log(FormattableString.Invariant(
                    $"round {round}: p50 sequential {Load.Median(sequential):0.00} ms ({(cpu1 - cpu0) * 10:0.00} CPU-ms each), {twenty:0}/s with 20 in parallel ({(cpu2 - cpu1) * 5:0.00} CPU-ms each), {hundred:0}/s with 100; load average {Load.Average()}"));
            }
        }
        finally
        {
            Procs.StopAll();
            Directory.Delete(tmp, recursive: true);
        }

        return 0;
    }

    private static async Task<double> ParallelAsync(int port, int count, int parallel)
    {
        var next = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                await Load.SetUpMsAsync(port);
            }
        })));
        return count / clock.Elapsed.TotalSeconds;
    }

    private static string? ArgValue(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static void Log(string line) => Console.Error.WriteLine($"[setups] {line}");
}
