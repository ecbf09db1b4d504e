using System.Diagnostics;
using System.Globalization;
using ActorVpn.Topology;

namespace ActorVpn.Bench;

/// <summary>
/// Only the set-up cases of the shipped ActorVpn (<c>avpn up</c> + <c>avpn connect</c>, two processes; the destination in a
/// third): p50 sequential, set-ups/s with 20 and 100 in parallel and the CPU each costs, for a quick before/after comparison
/// (<c>bench/run.sh --setups [--rounds N] [--warm N] [--profile-seconds N] [--compare-resumption | --compare-env NAME=VALUE]</c>).
/// No report is written. With <c>--compare-resumption</c> a second shipped pair runs with TLS resumption switched off (.NET's
/// DOTNET_SYSTEM_NET_SECURITY_DISABLETLSRESUME=1), with <c>--compare-env</c> with that environment variable set; every round
/// measures both, in turns, so both saw the same load.
/// </summary>
internal static class SetUpBench
{

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = int.Parse(ArgValue(args, "--rounds") ?? "3", CultureInfo.InvariantCulture);
        var warm = int.Parse(ArgValue(args, "--warm") ?? "400", CultureInfo.InvariantCulture);
        var profileSeconds = double.Parse(ArgValue(args, "--profile-seconds") ?? "0", CultureInfo.InvariantCulture);
        var tmp = Directory.CreateTempSubdirectory("avpn-setups").FullName;
        Procs.Init(Path.Combine(tmp, "pids"));
        try
        {
            using var destination = new OutsideDestination();
            var topology = ExampleTopology.Text.Replace("127.0.0.1:9000", $"127.0.0.1:{destination.Port}", StringComparison.Ordinal);
            var contenders = new List<(string Label, ShippedAvpn Avpn)> { ("shipped", await ShippedAvpn.StartAsync(Path.Combine(tmp, "a"), topology)) };
            var compared = args.Contains("--compare-resumption") ? "DOTNET_SYSTEM_NET_SECURITY_DISABLETLSRESUME=1" : ArgValue(args, "--compare-env");
            if (compared?.Split('=', 2) is [var name, var value])
            {
                Environment.SetEnvironmentVariable(name, value);
                contenders.Add((compared, await ShippedAvpn.StartAsync(Path.Combine(tmp, "b"), topology)));
                Environment.SetEnvironmentVariable(name, null);
            }

            try
            {
                // Warm until tiered compilation has settled: CPU figures of a cold process are mostly the JIT's.
                foreach (var (_, avpn) in contenders)
                {
                    await ParallelAsync(avpn.LocalPort, warm, 20);
                }

                if (profileSeconds > 0)
                {
                    await ProfileWindowAsync(contenders[0].Avpn, destination, profileSeconds);
                }

                for (var round = 1; round <= rounds; round++)
                {
                    foreach (var (label, avpn) in round % 2 == 1 ? contenders : Enumerable.Reverse(contenders))
                    {
                        await RoundAsync(round, label, avpn);
                    }
                }
            }
            finally
            {
                foreach (var (_, avpn) in contenders)
                {
                    avpn.Dispose();
                }
            }
        }
        finally
        {
            Procs.StopAll();
            Directory.Delete(tmp, recursive: true);
        }

        return 0;
    }

    private static async Task RoundAsync(int round, string label, ShippedAvpn avpn)
    {
        var sequential = new List<double>();
        var cpu0 = CpuTree.Seconds([.. avpn.Pids]);
        for (var i = 0; i < 100; i++)
        {
            sequential.Add(await Load.SetUpMsAsync(avpn.LocalPort));
        }

        var cpu1 = CpuTree.Seconds([.. avpn.Pids]);
        var twenty = await ParallelAsync(avpn.LocalPort, 200, 20);
        var cpu2 = CpuTree.Seconds([.. avpn.Pids]);
        var hundred = await ParallelAsync(avpn.LocalPort, 300, 100);
        Log(FormattableString.Invariant(
            $"round {round}, {label}: p50 sequential {Load.Median(sequential):0.00} ms ({(cpu1 - cpu0) * 10:0.00} CPU-ms each), {twenty:0}/s with 20 in parallel ({(cpu2 - cpu1) * 5:0.00} CPU-ms each), {hundred:0}/s with 100; load average {Load.Average()}"));
    }

    /// <summary>A steady stream of set-ups, 20 in flight, to profile warm code: <c>perf record -p</c> the printed pids meanwhile.</summary>
    private static async Task ProfileWindowAsync(ShippedAvpn avpn, OutsideDestination destination, double seconds)
    {
        Log($"profiling window of {seconds:0} s: avpn pids {string.Join(" ", avpn.Pids)}, destination {destination.Pid}");
        var window = Stopwatch.StartNew();
        var done = 0;
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
        {
            while (window.Elapsed.TotalSeconds < seconds)
            {
                await Load.SetUpMsAsync(avpn.LocalPort);
                Interlocked.Increment(ref done);
            }
        })));
        Log($"profiling window over: {done / window.Elapsed.TotalSeconds:0} set-ups/s");
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
