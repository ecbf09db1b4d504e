using System.Diagnostics;
using System.Globalization;
using ActorVpn.Topology;

namespace ActorVpn.Bench;

/// <summary>What the concurrent-sessions phase does: the levels it opens to and how long it may take in all.</summary>
internal sealed record SessionsPlan(int[] Levels, TimeSpan Budget, int Clients, int InFlight, int Probes, int Echoes)
{
    /// <summary>About 3 minutes of a default run, start-up of the processes included.</summary>
    public static readonly SessionsPlan Default = new([1000, 5000, 10_000], TimeSpan.FromSeconds(180), 4, 32, 40, 20);

    public static readonly SessionsPlan Quick = new([500, 1000], TimeSpan.FromSeconds(90), 2, 32, 20, 10);

    /// <summary><c>bench/run.sh --sessions</c> alone: the same levels, with time to reach them on a loaded machine.</summary>
    public static readonly SessionsPlan Alone = Default with { Budget = TimeSpan.FromSeconds(600) };
}

/// <summary>One proxy process at one level: resident set, managed heap (its <c>/metrics</c> gauge), descriptors, sessions it relays.</summary>
internal sealed record ProxySample(string Proxy, long RssKiB, double GcHeapBytes, int Fds, double Active);

/// <summary>One level: how many sessions were open, set-up times of new sessions meanwhile, echoes checked, each proxy's figures.</summary>
internal sealed record SessionLevel(int Open, List<double> SetUpMs, int EchoOk, int EchoChecked, List<ProxySample> Proxies, string Load);

/// <summary>What the phase measured, and what stopped it short of its last level (empty when nothing did).</summary>
internal sealed record SessionsOutcome(List<SessionLevel> Levels, int Asked, int Ceiling, string CeilingBy, string Stopped, int Clients, double StartSeconds)
{
    /// <summary>Per proxy: growth per added session between the lowest and the highest level (the baseline when one level was reached).</summary>
    public IEnumerable<(string Proxy, double RssKiB, double GcHeapKiB)> Slopes()
    {
        var measured = Levels.Where(l => l.Open > 0).ToList();
        if (measured.Count == 0)
        {
            yield break;
        }

        var low = measured.Count > 1 ? measured[0] : Levels[0];
        var high = measured[^1];
        var added = Math.Max(1, high.Open - low.Open);
        foreach (var (a, b) in low.Proxies.Zip(high.Proxies))
        {
            yield return (a.Proxy, (b.RssKiB - a.RssKiB) / (double)added, (b.GcHeapBytes - a.GcHeapBytes) / 1024.0 / added);
        }
    }
}

/// <summary>
/// Concurrent idle sessions through one patent chain with every proxy in a process of its own: <c>avpn node</c> for the
/// auth servers (groups as1 and as4), one <c>avpn node</c> per proxy (the README's multi-node walkthrough, with the proxy
/// node split in three), several <c>avpn connect</c> processes (one user each), and the load generator (the harness in
/// <c>--hold</c> mode) and the destination in processes of their own. One process per proxy because a proxy holds two
/// sockets per session and the open-files limit here is 20,000: one process cannot hold 10,000 sessions of all three.
/// </summary>
internal static class SessionsBench
{
    private static readonly string[] ProxyNames = ["proxy1", "proxy2", "proxy3"];

    /// <summary>Runs the phase and records its figures in <paramref name="results"/>; never throws for a product failure, it reports it.</summary>
    public static async Task RunAsync(Results results, SessionsPlan plan, string tmp, int destinationPort, Action<string> log)
    {
        var clock = Stopwatch.StartNew();
        var processes = new List<Process>();
        try
        {
            var cluster = await NodeCluster.StartAsync(tmp, destinationPort, plan.Clients, processes, log);
            var startSeconds = clock.Elapsed.TotalSeconds;
            log($"  sessions: {cluster.ProxyNodes.Count} proxy nodes, the auth node and {plan.Clients} avpn connect up in {startSeconds:0} s; load average {Load.Average()}");
            var holder = new Holder(Outside.Start("--hold", string.Join(',', cluster.ClientPorts.Select(p => p.ToString(CultureInfo.InvariantCulture)))));
            processes.Add(holder.Process);
            results.Sessions = await MeasureAsync(cluster, holder, plan, clock, startSeconds, log);
            Record(results, results.Sessions);
        }
        catch (Exception e)
        {
            // A failed phase is a finding for the report, not a reason to lose the rest of the run's figures.
            log($"  sessions: phase failed after {clock.Elapsed.TotalSeconds:0} s: {e.GetType().Name}: {e.Message}");
            results.Note($"Concurrent sessions (one process per proxy): the phase failed after {clock.Elapsed.TotalSeconds:0} s: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            foreach (var p in processes)
            {
                Procs.Stop(p);
                p.Dispose();
            }
        }
    }

    /// <summary><c>bench/run.sh --sessions [--budget SECONDS]</c>: the phase alone, its report section on stdout (docs are not rewritten).</summary>
    public static async Task<int> RunAloneAsync(string[] args)
    {
        var clock = Stopwatch.StartNew();
        void Log(string line) => Console.Error.WriteLine($"[bench {clock.Elapsed.TotalSeconds,5:0}s] {line}");
        var at = Array.IndexOf(args, "--tmp");
        var tmp = at >= 0 && at + 1 < args.Length ? args[at + 1] : Directory.CreateTempSubdirectory("avpn-bench").FullName;
        at = Array.IndexOf(args, "--budget");
        var plan = at >= 0 && at + 1 < args.Length ? SessionsPlan.Alone with { Budget = TimeSpan.FromSeconds(double.Parse(args[at + 1], CultureInfo.InvariantCulture)) } : SessionsPlan.Alone;
        Procs.Init(Path.Combine(tmp, "pids"));
        var results = new Results();
        var startLoad = Load.Average();
        Log($"concurrent sessions alone: levels {string.Join(" / ", plan.Levels)}, budget {plan.Budget.TotalSeconds:0} s, temp dir {tmp}");
        try
        {
            using var destination = new OutsideDestination();
            await RunAsync(results, plan, tmp, destination.Port, Log);
        }
        finally
        {
            Procs.StopAll();
        }

        results.Note(Inv($"Shared machine: 1-minute load average {startLoad} at the start and {Load.Average()} at the end ({Environment.ProcessorCount} cores)."));
        Console.WriteLine(Report.Sessions(results));
        foreach (var note in results.Notes)
        {
            Console.WriteLine($"- {note}");
        }

        return results.Sessions is null ? 1 : 0;
    }

    private static void Record(Results results, SessionsOutcome outcome)
    {
        var top = outcome.Levels[^1];
        results.Add("mp.sessions", top.Open);
        var slopes = outcome.Slopes().ToList();
        if (slopes.Count > 0 && top.Open > 0)
        {
            results.Add("mp.rss.kib", slopes.Max(s => s.RssKiB));
            results.Add("mp.heap.kib", slopes.Max(s => s.GcHeapKiB));
        }
    }

    private static async Task<SessionsOutcome> MeasureAsync(NodeCluster cluster, Holder holder, SessionsPlan plan, Stopwatch clock, double startSeconds, Action<string> log)
    {
        // Warm every process's set-up path, then the baseline with nothing open.
        await holder.AskAsync("probe 8", TimeSpan.FromMinutes(2));
        var levels = new List<SessionLevel> { await SampleAsync(cluster, holder, 0, 0, 0) };
        var (ceiling, ceilingBy) = Ceiling(cluster);
        log($"  sessions: ceiling {ceiling:N0} ({ceilingBy})");
        var stopped = string.Empty;
        foreach (var wanted in plan.Levels)
        {
            var level = Math.Min(wanted, ceiling);
            var left = plan.Budget - clock.Elapsed - TimeSpan.FromSeconds(10); // keep time for this level's sample
            if (left <= TimeSpan.Zero)
            {
                stopped = Inv($"the phase's {plan.Budget.TotalSeconds:0} s budget (start-up {startSeconds:0} s of it) was spent before {level:N0} sessions were asked for");
                break;
            }

            var reply = (await holder.AskAsync(Inv($"open {level} {plan.InFlight} {left.TotalSeconds:0}"), left + TimeSpan.FromMinutes(2))).Split(' ', 5);
            var (open, failures, seconds, error) = (int.Parse(reply[1], CultureInfo.InvariantCulture), int.Parse(reply[2], CultureInfo.InvariantCulture), double.Parse(reply[3], CultureInfo.InvariantCulture), reply[4]);
            log($"  sessions: {open:N0} open ({failures} failed set-ups, {seconds:0} s); load average {Load.Average()}");
            if (open > levels[^1].Open)
            {
                var sample = await SampleAsync(cluster, holder, open, plan.Probes, plan.Echoes);
                levels.Add(sample);
                log(Inv($"  sessions: {open:N0} open: set-up p50 {Load.Median(sample.SetUpMs):0.0} ms, p99 {Load.Percentile(sample.SetUpMs, 99):0.0} ms, echoes {sample.EchoOk}/{sample.EchoChecked}; ") +
                    string.Join(", ", sample.Proxies.Select(p => Inv($"{p.Proxy} RSS {p.RssKiB / 1024.0:0} MiB heap {p.GcHeapBytes / 1048576.0:0} MiB fds {p.Fds} active {p.Active}"))));
            }

            if (open < level)
            {
                stopped = failures > 0
                    ? Inv($"set-ups failed at {open:N0} open ({failures} failures; first: {error}); {Exhausted(cluster, holder)}")
                    : Inv($"the phase's {plan.Budget.TotalSeconds:0} s budget (start-up {startSeconds:0} s of it) ran out at {open:N0} of {level:N0} sessions");
                break;
            }

            if (level < wanted)
            {
                stopped = Inv($"at the open-files ceiling, {level:N0} of the {wanted:N0} asked");
                break;
            }
        }

        return new SessionsOutcome(levels, plan.Levels[^1], ceiling, ceilingBy, stopped, plan.Clients, startSeconds);
    }

    /// <summary>
    /// How many sessions fit under the open-files limits: each proxy process holds 2 sockets per session (in and out),
    /// each client process 2 (local and to proxy1), the generator and the destination 1. A margin stays for the process's own.
    /// </summary>
    private static (int Sessions, string By) Ceiling(NodeCluster cluster)
    {
        const int Margin = 100;
        var limits = new List<(int Sessions, string By)>();
        foreach (var (name, pid) in cluster.ProxyNodes)
        {
            var (soft, open) = (ProcFs.OpenFilesLimit(pid), ProcFs.OpenFiles(pid));
            limits.Add(((int)((soft - open - Margin) / 2), Inv($"{name}'s avpn node (pid {pid}): open-files limit {soft:N0} (the hard limit; raising it needs CAP_SYS_RESOURCE), {open} descriptors in use at rest, 2 per session")));
        }

        var clients = cluster.ClientPids.Sum(pid => (ProcFs.OpenFilesLimit(pid) - ProcFs.OpenFiles(pid) - Margin) / 2);
        limits.Add(((int)clients, Inv($"{cluster.ClientPids.Count} avpn connect processes, 2 descriptors per session each")));
        return limits.MinBy(l => l.Sessions);
    }

    /// <summary>Which process was nearest its open-files limit, or had exited, when set-ups began to fail.</summary>
    private static string Exhausted(NodeCluster cluster, Holder holder)
    {
        var all = cluster.ProxyNodes.Select(p => (p.Name, p.Pid)).Append(("auth node", cluster.AuthPid))
            .Concat(cluster.ClientPids.Select((pid, i) => ($"avpn connect {i + 1}", pid))).Append(("load generator", holder.Process.Id));
        return string.Join("; ", all.Select(p => File.Exists($"/proc/{p.Item2}/status")
            ? Inv($"{p.Item1} {ProcFs.OpenFiles(p.Item2):N0}/{ProcFs.OpenFilesLimit(p.Item2):N0} descriptors")
            : $"{p.Item1} had exited"));
    }

    private static async Task<SessionLevel> SampleAsync(NodeCluster cluster, Holder holder, int open, int probes, int echoes)
    {
        var setUps = new List<double>();
        var (echoOk, echoChecked) = (0, 0);
        if (probes > 0)
        {
            var probe = (await holder.AskAsync($"probe {probes}", TimeSpan.FromMinutes(3))).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            setUps.AddRange(probe.Skip(2).Select(t => double.Parse(t, CultureInfo.InvariantCulture)));
            var echo = (await holder.AskAsync($"echo {echoes}", TimeSpan.FromMinutes(3))).Split(' ');
            (echoOk, echoChecked) = (int.Parse(echo[1], CultureInfo.InvariantCulture), int.Parse(echo[2], CultureInfo.InvariantCulture));
        }

        await Task.Delay(TimeSpan.FromSeconds(2)); // set-ups just closed leave their sockets; let the proxies settle
        var proxies = new List<ProxySample>();
        foreach (var (name, pid) in cluster.ProxyNodes)
        {
            var metrics = await cluster.MetricsAsync(name);
            proxies.Add(new ProxySample(name, ProcFs.RssKiB(pid), Scraped(metrics, "avpn_process_gc_heap_bytes"), ProcFs.OpenFiles(pid),
                Scraped(metrics, "avpn_proxy_sessions_active")));
        }

        return new SessionLevel(open, setUps, echoOk, echoChecked, proxies, Load.Average());
    }

    /// <summary>The sum of a metric's series in Prometheus text (every label set).</summary>
    private static double Scraped(string metrics, string name) => metrics.Split('\n')
        .Where(l => l.StartsWith(name, StringComparison.Ordinal) && l.Length > name.Length && l[name.Length] is ' ' or '{')
        .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The load generator process (<see cref="SessionHolder"/>): one command line in, one answer line out.</summary>
    private sealed class Holder(Process process)
    {
        public Process Process { get; } = process;

        public async Task<string> AskAsync(string command, TimeSpan within)
        {
            using var deadline = new CancellationTokenSource(within);
            await Process.StandardInput.WriteLineAsync(command);
            await Process.StandardInput.FlushAsync(deadline.Token);
            return await Process.StandardOutput.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException($"the load generator exited during '{command}'");
        }
    }

    /// <summary>The auth node, one node per proxy and the client processes, as <c>avpn node</c> / <c>avpn connect</c> of the built <c>avpn</c>.</summary>
    private sealed class NodeCluster
    {
        private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

        private readonly Dictionary<string, int> _healthPorts = new(StringComparer.Ordinal);

        public List<(string Name, int Pid)> ProxyNodes { get; } = [];

        public int AuthPid { get; private set; }

        public List<int> ClientPids { get; } = [];

        public List<int> ClientPorts { get; } = [];

        public async Task<string> MetricsAsync(string node) => await Http.GetStringAsync(Inv($"http://127.0.0.1:{_healthPorts[node]}/metrics"));

        public static async Task<NodeCluster> StartAsync(string tmp, int destinationPort, int clients, List<Process> started, Action<string> log)
        {
            var cluster = new NodeCluster();
            var dir = Path.Combine(tmp, "sessions");
            Directory.CreateDirectory(dir);
            var users = Enumerable.Range(1, clients).Select(i => $"client{i}").ToList();
            var topology = Path.Combine(dir, "topology.hocon");
            var text = ExampleTopology.Text.Replace("127.0.0.1:9000", Inv($"127.0.0.1:{destinationPort}"), StringComparison.Ordinal)
                .Replace("alice { auth-server = as1 }", string.Join("\n    ", users.Select(u => u + " { auth-server = as1 }")), StringComparison.Ordinal);
            foreach (var proxy in new[] { 7101, 7102, 7103 })
            {
                text = text.Replace(Inv($"127.0.0.1:{proxy}"), Inv($"127.0.0.1:{Procs.FreePort()}"), StringComparison.Ordinal);
            }

            await File.WriteAllTextAsync(topology, text);
            var seedPort = Procs.FreePort();
            var host = Environment.ProcessPath ?? "dotnet";
            var avpn = Path.Combine(AppContext.BaseDirectory, "avpn.dll");

            // The README's walkthrough, one node per proxy. The shipped admission limits stay as they are: each client
            // process is its own user (200 set-ups/s each), and the generator keeps fewer set-ups in flight than a
            // proxy admits per source address (all clients dial from 127.0.0.1).
            Task<Process> Node(string name, string groups, string proxies)
            {
                var health = Procs.FreePort();
                cluster._healthPorts[name] = health;
                var remote = name == "auth" ? seedPort : Procs.FreePort();
                var config = Path.Combine(dir, name + ".hocon");
                File.WriteAllText(config, Inv($$"""
                    actorvpn.node { topology = "{{topology}}", groups = [{{groups}}], proxies = [{{proxies}}], drain-period = 1s, health { hostname = "127.0.0.1", port = {{health}} } }
                    akka.loglevel = WARNING
                    akka.remote.dot-netty.tcp.port = {{remote}}
                    akka.cluster.seed-nodes = ["akka.tcp://actorvpn@127.0.0.1:{{seedPort}}"]
                    """));
                var data = Path.Combine(dir, name);
                Directory.CreateDirectory(data);
                var process = Procs.Start(host, [avpn, "node", "--config", config, "--data", data, "--console", "off"], stdio: true);
                lock (started)
                {
                    started.Add(process);
                }

                return ReadyAsync(process, name);
            }

            var auth = Node("auth", "as1, as4", string.Empty);
            var proxyNodes = ProxyNames.Select(p => Node(p, string.Empty, p)).ToList();
            cluster.AuthPid = (await auth).Id;
            foreach (var (name, node) in ProxyNames.Zip(proxyNodes))
            {
                cluster.ProxyNodes.Add((name, (await node).Id));
            }

            log("  sessions: every node printed ready");
            foreach (var user in users)
            {
                // The node running as1 registers the topology's users and writes their profiles.
                var profile = Path.Combine(dir, "auth", "profiles", user + ".avpn");
                for (var wait = Stopwatch.StartNew(); !File.Exists(profile); await Task.Delay(200))
                {
                    if (wait.Elapsed > TimeSpan.FromMinutes(2))
                    {
                        throw new TimeoutException($"the auth node wrote no profile for {user} in 2 minutes");
                    }
                }

                var port = Procs.FreePort();
                var connect = Procs.Start(host, [avpn, "connect", "--profile", profile, "--to", "server", "--listen", Inv($"127.0.0.1:{port}")], stdio: true);
                started.Add(connect);
                _ = connect.StandardOutput.ReadToEndAsync(CancellationToken.None);
                cluster.ClientPids.Add(connect.Id);
                cluster.ClientPorts.Add(port);
            }

            foreach (var port in cluster.ClientPorts)
            {
                await Procs.WaitListeningAsync(port, TimeSpan.FromMinutes(2));
            }

            return cluster;
        }

        private static async Task<Process> ReadyAsync(Process node, string name)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            while (await node.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            {
                if (line == "ready")
                {
                    _ = node.StandardOutput.ReadToEndAsync(CancellationToken.None); // keep its stdout drained
                    return node;
                }
            }

            throw new InvalidOperationException($"the {name} node exited ({(node.HasExited ? node.ExitCode : -1)}) before it was ready");
        }
    }
}

/// <summary>A process's figures from /proc (Linux).</summary>
internal static class ProcFs
{
    public static long RssKiB(int pid) => Status(pid, "VmRSS:");

    public static int OpenFiles(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    public static long OpenFilesLimit(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        return long.Parse(line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
    }

    private static long Status(int pid, string key)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(key, StringComparison.Ordinal));
        return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
