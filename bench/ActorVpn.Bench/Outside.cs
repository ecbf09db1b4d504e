using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace ActorVpn.Bench;

/// <summary>
/// The load generator and the destination in processes of their own, outside every contender (ActorVpn's processes, socat,
/// ssh): the same two processes for every contender, so none carries the other's cost or gets it for free.
/// </summary>
internal static class Outside
{
    /// <summary>Child mode <c>--serve</c>: the destination (<see cref="DualServer"/>); prints its port, runs until stdin closes.</summary>
    public static async Task<int> ServeAsync()
    {
        using var destination = new DualServer();
        Console.Out.WriteLine(destination.Port.ToString(CultureInfo.InvariantCulture));
        Console.Out.Flush();
        while (await Console.In.ReadLineAsync() is not null)
        {
        }

        return 0;
    }

    /// <summary>Child mode <c>--generate PORT BYTES STREAMS</c>: pushes the bytes and prints "wall-seconds cpu-seconds" of the transfer.</summary>
    public static async Task<int> GenerateAsync(string[] args)
    {
        var i = Array.IndexOf(args, "--generate");
        var port = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
        var bytes = long.Parse(args[i + 2], CultureInfo.InvariantCulture);
        var streams = int.Parse(args[i + 3], CultureInfo.InvariantCulture);
        await Load.SendAsync(port, 1 << 20); // warm this process's own code so the measured transfer is steady
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, streams).Select(_ => Task.Run(() => Load.SendAsync(port, bytes / streams))));
        var seconds = clock.Elapsed.TotalSeconds;
        self.Refresh();
        Console.Out.WriteLine(FormattableString.Invariant($"{seconds} {(self.TotalProcessorTime - cpu).TotalSeconds}"));
        return 0;
    }

    /// <summary>Starts this harness's own assembly in a child mode.</summary>
    public static Process Start(params string[] args) =>
        Procs.Start(Environment.ProcessPath ?? "dotnet", [Assembly.GetEntryAssembly()!.Location, .. args], stdio: true);

    /// <summary>
    /// One transfer from a generator process: (MiB/s, CPU-s per GiB). CPU is the generator's own transfer, plus what
    /// <paramref name="cpuOf"/> (the destination and the contender's processes) used meanwhile, not the whole machine's.
    /// </summary>
    public static async Task<(double MiBps, double CpuPerGiB)> ThroughputAsync(int port, long bytes, int streams, Func<double> cpuOf)
    {
        var before = cpuOf();
        using var generator = Start("--generate", port.ToString(CultureInfo.InvariantCulture), bytes.ToString(CultureInfo.InvariantCulture), streams.ToString(CultureInfo.InvariantCulture));
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var line = await generator.StandardOutput.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("the load generator ended without a result");
        var after = cpuOf();
        await generator.WaitForExitAsync(deadline.Token);
        if (generator.ExitCode != 0)
        {
            throw new InvalidOperationException($"the load generator exited with {generator.ExitCode}");
        }

        var parts = line.Split(' ');
        var (seconds, generatorCpu) = (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
        var total = bytes / streams * streams;
        return (total / 1048576.0 / seconds, (after - before + generatorCpu) / (total / 1073741824.0));
    }
}

/// <summary>The destination process: echo for set-ups, counting sink for throughput.</summary>
internal sealed class OutsideDestination : IDisposable
{
    private readonly Process _process;

    public OutsideDestination()
    {
        _process = Outside.Start("--serve");
        var line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the destination process ended before it listened");
        Port = int.Parse(line, CultureInfo.InvariantCulture);
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public void Dispose()
    {
        Procs.Stop(_process);
        _process.Dispose();
    }
}

/// <summary>Busy CPU time of process trees, from /proc (Linux): on a shared machine, only the processes a figure is about.</summary>
internal static class CpuTree
{
    private static readonly double TicksPerSecond = 100; // USER_HZ

    /// <summary>
    /// CPU seconds used so far by <paramref name="roots"/> and all their descendants, including children already reaped
    /// (ssh and socat fork one per connection). Compare two readings.
    /// </summary>
    public static double Seconds(IReadOnlyCollection<int> roots)
    {
        var stats = new Dictionary<int, (int Parent, long Ticks)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // the process ended meanwhile
            }

            // After "pid (comm) ": state ppid ... utime(14) stime(15) cutime(16) cstime(17), counted from 1.
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            stats[pid] = (int.Parse(fields[1], CultureInfo.InvariantCulture),
                long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture) +
                long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture));
        }

        var included = new HashSet<int>(roots.Where(stats.ContainsKey));
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var (pid, (parent, _)) in stats)
            {
                if (!included.Contains(pid) && included.Contains(parent))
                {
                    grew = included.Add(pid);
                }
            }
        }

        return included.Sum(pid => stats[pid].Ticks) / TicksPerSecond;
    }

    /// <summary>This process alone (the in-process ActorVpn), without the peers it started.</summary>
    public static double Self()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }
}

/// <summary>
/// ActorVpn as shipped: <c>avpn up</c> (every auth server and proxy) and <c>avpn connect</c> as two processes of the built
/// <c>avpn</c>, with the patent topology pointed at the destination process.
/// </summary>
internal sealed class ShippedAvpn : IDisposable
{
    private readonly Process _up;
    private readonly Process _connect;

    private ShippedAvpn(Process up, Process connect, int localPort)
    {
        _up = up;
        _connect = connect;
        LocalPort = localPort;
    }

    public int LocalPort { get; }

    public IReadOnlyCollection<int> Pids => [_up.Id, _connect.Id];

    public static async Task<ShippedAvpn> StartAsync(string tmp, string topologyText)
    {
        var avpn = Path.Combine(AppContext.BaseDirectory, "avpn.dll");
        var dir = Path.Combine(tmp, "avpn-up");
        Directory.CreateDirectory(dir);
        var topology = Path.Combine(dir, "topology.hocon");
        var text = topologyText;
        foreach (var proxy in new[] { 7101, 7102, 7103 })
        {
            text = text.Replace($"127.0.0.1:{proxy}", $"127.0.0.1:{Procs.FreePort()}", StringComparison.Ordinal);
        }

        await File.WriteAllTextAsync(topology, text);
        var host = Environment.ProcessPath ?? "dotnet";
        var up = Procs.Start(host, [avpn, "up", "--topology", topology, "--data", dir, "--store", "memory", "--console", $"127.0.0.1:{Procs.FreePort()}"], stdio: true);
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (await up.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
        {
            if (line == "ready")
            {
                break;
            }
        }

        _ = up.StandardOutput.ReadToEndAsync(CancellationToken.None); // keep its stdout drained
        var local = Procs.FreePort();
        var connect = Procs.Start(host, [avpn, "connect", "--profile", Path.Combine(dir, "profiles", "alice.avpn"), "--to", "server", "--listen", $"127.0.0.1:{local}"], stdio: true);
        _ = connect.StandardOutput.ReadToEndAsync(CancellationToken.None);
        await Procs.WaitListeningAsync(local, TimeSpan.FromMinutes(2));
        return new ShippedAvpn(up, connect, local);
    }

    public void Dispose()
    {
        Procs.Stop(_connect);
        Procs.Stop(_up);
        _connect.Dispose();
        _up.Dispose();
    }
}
