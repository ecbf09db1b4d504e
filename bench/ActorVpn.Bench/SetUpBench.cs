using System.Diagnostics;
using System.Globalization;
using ActorVpn.Topology;

namespace ActorVpn.Bench;

/// <summary>
/// Only the set-up cases of the shipped ActorVpn (<c>avpn up</c> + <c>avpn connect</c>, two processes; the destination in a
/// third): p50 sequential, set-ups/s with 20 and 100 in parallel and the CPU each costs, for a quick before/after comparison
/// (<c>bench/run.sh --setups [--rounds N] [--warm N] [--profile-seconds N] [--streams [--stream-mib N]] [--stream-profile-seconds N]
/// [--compare-resumption | --compare-env NAME=VALUE[,NAME=VALUE]]</c>). With <c>--streams</c> every round also times one stream and 8 streams (512 MiB
/// by default) through each shipped pair. No report is written. With <c>--compare-resumption</c> a second shipped pair runs with TLS resumption switched off (.NET's
/// DOTNET_SYSTEM_NET_SECURITY_DISABLETLSRESUME=1), with <c>--compare-env</c> with those environment variables set; every round
/// measures both, in turns, so both saw the same load, and times the TLS floor (<see cref="TlsFloor"/>) beside them.
/// </summary>
internal static class SetUpBench
{

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = int.Parse(ArgValue(args, "--rounds") ?? "3", CultureInfo.InvariantCulture);
        var warm = int.Parse(ArgValue(args, "--warm") ?? "400", CultureInfo.InvariantCulture);
        var profileSeconds = double.Parse(ArgValue(args, "--profile-seconds") ?? "0", CultureInfo.InvariantCulture);
        var streamProfileSeconds = double.Parse(ArgValue(args, "--stream-profile-seconds") ?? "0", CultureInfo.InvariantCulture);
        var streamBytes = args.Contains("--streams") ? long.Parse(ArgValue(args, "--stream-mib") ?? "512", CultureInfo.InvariantCulture) << 20 : 0;
        var compared = args.Contains("--compare-resumption") ? "DOTNET_SYSTEM_NET_SECURITY_DISABLETLSRESUME=1" : ArgValue(args, "--compare-env");
        // NAME=VALUE[,NAME=VALUE...]: the second pair runs with all of them set.
        var settings = (compared ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => s.Split('=', 2)).ToList();
        if (compared is not null && (settings.Count == 0 || settings.Any(s => s.Length != 2 || s[0].Length == 0)))
        {
            Log($"--compare-env wants NAME=VALUE[,NAME=VALUE...], not '{compared}'");
            return 2;
        }

        var tmp = Directory.CreateTempSubdirectory("avpn-setups").FullName;
        Procs.Init(Path.Combine(tmp, "pids"));
        try
        {
            using var destination = new OutsideDestination();
            var topology = ExampleTopology.Text.Replace("127.0.0.1:9000", $"127.0.0.1:{destination.Port}", StringComparison.Ordinal);
            var contenders = new List<(string Label, ShippedAvpn Avpn)> { ("shipped", await ShippedAvpn.StartAsync(Path.Combine(tmp, "a"), topology)) };
            if (settings.Count > 0)
            {
                settings.ForEach(s => Environment.SetEnvironmentVariable(s[0], s[1]));
                contenders.Add((compared!, await ShippedAvpn.StartAsync(Path.Combine(tmp, "b"), topology)));
                settings.ForEach(s => Environment.SetEnvironmentVariable(s[0], null));
            }

            using var floor = await TlsFloorProcess.StartAsync();
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

                if (streamProfileSeconds > 0)
                {
                    await StreamProfileWindowAsync(contenders[0].Avpn, destination, streamProfileSeconds);
                }

                for (var round = 1; round <= rounds; round++)
                {
                    var bare = await floor.MeasureAsync(100, 200);
                    Log(FormattableString.Invariant(
                        $"round {round}, TLS floor (3 bare handshakes, no relay or auth): p50 sequential {bare.P50:0.00} ms ({bare.SequentialCpu:0.00} CPU-ms each), {bare.PerSecond:0}/s with 20 in parallel ({bare.ParallelCpu:0.00} CPU-ms each)"));
                    foreach (var (label, avpn) in round % 2 == 1 ? contenders : Enumerable.Reverse(contenders))
                    {
                        await RoundAsync(round, label, avpn);
                        if (streamBytes > 0)
                        {
                            await StreamsAsync(round, label, avpn, destination, streamBytes);
                        }
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

    /// <summary>One stream and 8 streams through the shipped pair, from a generator process to the destination process.</summary>
    private static async Task StreamsAsync(int round, string label, ShippedAvpn avpn, OutsideDestination destination, long bytes)
    {
        double Cpu() => CpuTree.Seconds([destination.Pid, .. avpn.Pids]);
        var one = await Outside.ThroughputAsync(avpn.LocalPort, bytes, 1, Cpu);
        var eight = await Outside.ThroughputAsync(avpn.LocalPort, bytes, 8, Cpu);
        Log(FormattableString.Invariant(
            $"round {round}, {label}: 1 stream {one.MiBps:0} MiB/s ({one.CpuPerGiB:0.00} CPU-s per GiB), 8 streams {eight.MiBps:0} MiB/s ({eight.CpuPerGiB:0.00} CPU-s per GiB); load average {Load.Average()}"));
    }

    /// <summary>One stream after another for a while, to profile the warm relay: <c>perf record -p</c> the printed pids meanwhile.</summary>
    private static async Task StreamProfileWindowAsync(ShippedAvpn avpn, OutsideDestination destination, double seconds)
    {
        Log($"stream profiling window of {seconds:0} s: avpn pids {string.Join(" ", avpn.Pids)}, destination {destination.Pid}");
        var window = Stopwatch.StartNew();
        while (window.Elapsed.TotalSeconds < seconds)
        {
            var (mibps, _) = await Outside.ThroughputAsync(avpn.LocalPort, 1L << 30, 1, () => 0);
            Log(FormattableString.Invariant($"  1 stream of 1 GiB: {mibps:0} MiB/s"));
        }
    }

    /// <summary>A steady stream of set-ups, 20 in flight, to profile warm code: <c>perf record -p</c> the printed pids meanwhile.</summary>
    private static async Task ProfileWindowAsync(ShippedAvpn avpn, OutsideDestination destination, double seconds)
    {
        Log($"profiling window of {seconds:0} s: avpn pids {string.Join(" ", avpn.Pids)}, destination {destination.Pid}");
        var (done, elapsed) = await Load.ForAsync(() => Load.SetUpMsAsync(avpn.LocalPort), TimeSpan.FromSeconds(seconds), 20);
        Log($"profiling window over: {done / elapsed.TotalSeconds:0} set-ups/s");
    }

    private static Task<double> ParallelAsync(int port, int count, int parallel) => Load.ParallelAsync(() => Load.SetUpMsAsync(port), count, parallel);

    private static string? ArgValue(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static void Log(string line) => Console.Error.WriteLine($"[setups] {line}");
}
