using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using ActorVpn.Bench;
using ActorVpn.Client;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Configuration;
using static ActorVpn.Protocol.ClientAuthProtocol;

// The benchmark harness. Run it with bench/run.sh (installs the peers, stops what it started).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Contains("--recovery"))
{
    return await RecoveryBench.RunAsync(args); // 100,000 users' recovery (bench/run.sh --recovery)
}

if (args.Contains("--serve"))
{
    return await Outside.ServeAsync(); // the destination, in its own process
}

if (args.Contains("--generate"))
{
    return await Outside.GenerateAsync(args); // the load generator, in its own process
}

if (args.Contains("--tls-floor"))
{
    return await TlsFloor.ServeAsync(); // the three bare TLS handshakes of a set-up, in their own process
}

if (args.Contains("--hold"))
{
    return await SessionHolder.RunAsync(args); // the concurrent-sessions load generator, in its own process
}

if (args.Contains("--sessions"))
{
    return await SessionsBench.RunAloneAsync(args); // concurrent sessions, one process per proxy (bench/run.sh --sessions)
}

if (args.Contains("--setups"))
{
    return await SetUpBench.RunAsync(args); // only the shipped set-up cases, for a quick before/after (bench/run.sh --setups)
}

if (args.Contains("--flood"))
{
    return await FloodBench.RunAsync(args); // admission under an idle-connection flood (bench/run.sh --flood)
}

var quick = args.Contains("--quick");
var tmp = ArgValue("--tmp") ?? Directory.CreateTempSubdirectory("avpn-bench").FullName;
var docs = ArgValue("--docs") ?? "docs";
Procs.Init(Path.Combine(tmp, "pids"));
var plan = quick ? Plan.Quick : Plan.Default;
var results = new Results();
var total = Stopwatch.StartNew();
(List<double> Times, double PerSecond) sshParLast = ([], 0);
var opening = 0;
var startLoad = Load.Average();
var (step, steps) = (0, 3 + (plan.Rounds * (3 + (2 * 6))) + 1 + 4 + 1);
Log($"mode {(quick ? "--quick" : "default")}, {plan.Rounds} rounds, temp dir {tmp}");
try
{
    Step("start the peers: destination process, 16 sshd, 3 socat relays");
    using var destination = new OutsideDestination();
    var ssh = new SshPeers(tmp, 16);
    var socat = new SocatChain(destination.Port);
    Step("start ActorVpn as shipped: avpn up + avpn connect (two processes)");
    using var shipped = await ShippedAvpn.StartAsync(tmp, PatentTopology(destination.Port));
    using var floor = await TlsFloorProcess.StartAsync();
    Log($"peers up: destination process, {ssh.Instances} sshd, 3 socat relays, avpn up + avpn connect ({total.Elapsed.TotalSeconds:0} s)");

    await using (var patent = await AvpnChain.StartAsync(PatentTopology(destination.Port)))
    {
        if (args.Contains("--probe"))
        {
            await ProbeAsync(patent);
            return 0;
        }

        Step("warm up every contender");
        await WarmAsync(patent, ssh, destination.Port);
        await WarmShippedAsync(shipped.LocalPort);
        for (var round = 1; round <= plan.Rounds; round++)
        {
            if (round > 2 && total.Elapsed > plan.Bound * 0.55)
            {
                results.Note($"Rounds {round}-{plan.Rounds} skipped: the run had used {total.Elapsed.TotalSeconds:0} s of its {plan.Bound.TotalSeconds:0} s bound.");
                step += (plan.Rounds - round + 1) * (3 + (2 * 6));
                break;
            }

            Log($"round {round}/{plan.Rounds}");
            await SetUpRoundAsync(patent, shipped, floor, ssh, destination.Port, round <= plan.SshParallelRounds, round);
            await ThroughputRoundAsync(patent, shipped, ssh, socat, destination, round);
            Step($"round {round}/{plan.Rounds}: hand-offs/s (control plane)");
            await RatesRoundAsync(patent);
        }

        Step("idle sessions: memory per session per proxy");
        if (total.Elapsed < plan.Bound - plan.IdleBudget - plan.ScaleBudget)
        {
            await IdleSessionsAsync(patent);
        }
        else
        {
            results.Note($"Idle sessions not measured: the run had used {total.Elapsed.TotalSeconds:0} s of its {plan.Bound.TotalSeconds:0} s bound.");
        }
    }

    await ScaleAsync(ssh, destination.Port);
    Step("concurrent sessions: each proxy an avpn node of its own");
    await SessionsBench.RunAsync(results, quick ? SessionsPlan.Quick : SessionsPlan.Default, tmp, destination.Port, Log);
}
finally
{
    Procs.StopAll();
}

results.Note(Inv($"Shared machine: 1-minute load average {startLoad} at the start and {Load.Average()} at the end of the run ({Environment.ProcessorCount} cores; other builds and tests ran meanwhile). Ratios are taken within one round, so both sides of a ratio saw about the same load; absolute figures (hand-offs/s) did not."));
Directory.CreateDirectory(docs);
var markdown = Report.Write(results, plan, quick, docs, total.Elapsed);
Console.WriteLine(markdown);
Log($"done in {total.Elapsed.TotalSeconds:0} s: {Path.Combine(docs, "benchmarks.md")}");
return 0;

string? ArgValue(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

void Log(string line) => Console.Error.WriteLine($"[bench {total.Elapsed.TotalSeconds,5:0}s] {line}");

// Which case runs and how far along the run is (steps done of all planned).
void Step(string what)
{
    step = Math.Min(step + 1, steps);
    Log($"[case {step}/{steps}, {100 * (step - 1) / steps}% done] {what}");
}

async Task WarmShippedAsync(int port)
{
    for (var i = 0; i < 10; i++)
    {
        await WarmSetUpAsync(port);
    }

    await Outside.ThroughputAsync(port, 32L << 20, 1, () => 0);
}

string PatentTopology(int port) => ExampleTopology.Text.Replace("127.0.0.1:9000", $"127.0.0.1:{port}", StringComparison.Ordinal);

async Task ProbeAsync(AvpnChain patent)
{
    // --probe-seconds N: a steady stream of set-ups and hand-offs for N s, long enough to profile warm code (perf, dotnet-trace).
    if (args.Contains("--probe-idle"))
    {
        await IdleSessionsAsync(patent);
        foreach (var note in results.Notes)
        {
            Log(note);
        }

        return;
    }

    if (ArgValue("--probe-seconds") is { } seconds)
    {
        var until = Stopwatch.StartNew();
        var (n, cpu0) = (0, Process.GetCurrentProcess().TotalProcessorTime);
        while (until.Elapsed.TotalSeconds < double.Parse(seconds, CultureInfo.InvariantCulture))
        {
            await Load.SetUpMsAsync(patent.LocalPort);
            n++;
        }

        Log($"probe: {n} set-ups, {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / n:0.00} CPU-ms each");
    }

    for (var round = 0; round < 3; round++)
    {
        var hand = new List<double>();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < 50; i++)
        {
            var c = Stopwatch.StartNew();
            await patent.Node.Control.AskAsync<object>("as1", new AuthenticateClient("proxy1", patent.Enrollment.CertificateDer, "server", null));
            hand.Add(c.Elapsed.TotalMilliseconds);
        }

        var cpu1 = Process.GetCurrentProcess().TotalProcessorTime;
        var setUp = new List<double>();
        for (var i = 0; i < 50; i++)
        {
            setUp.Add(await Load.SetUpMsAsync(patent.LocalPort));
        }

        var cpu2 = Process.GetCurrentProcess().TotalProcessorTime;
        Log($"probe: hand-off p50 {Load.Median(hand):0.00} ms ({(cpu1 - cpu0).TotalMilliseconds / 50:0.00} CPU-ms), set-up p50 {Load.Median(setUp):0.00} ms ({(cpu2 - cpu1).TotalMilliseconds / 50:0.00} CPU-ms)");
    }

    foreach (var par in new[] { 1, 4, 32, 32, 32 })
    {
        var (jitted, jitTime, cpu) = (System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime(), Process.GetCurrentProcess().TotalProcessorTime);
        var (n, elapsed) = await Load.ForAsync(
            () => patent.Node.Control.AskAsync<object>("as1", new AuthenticateClient("proxy1", patent.Enrollment.CertificateDer, "server", null)), TimeSpan.FromSeconds(2), par);
        Log($"probe: {par} in parallel: {n / elapsed.TotalSeconds:0} hand-offs/s, {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / Math.Max(1, n):0.00} CPU-ms each; " +
            $"JIT meanwhile: {System.Runtime.JitInfo.GetCompiledMethodCount() - jitted} methods, {(System.Runtime.JitInfo.GetCompilationTime() - jitTime).TotalMilliseconds:0} ms");
    }
}

// A cold process (JIT) on a loaded machine may miss the 10 s set-up deadline once; warming retries, measuring never does.
async Task WarmSetUpAsync(int port)
{
    for (var attempt = 1; ; attempt++)
    {
        try
        {
            await Load.SetUpMsAsync(port);
            return;
        }
        catch (Exception e) when (attempt < 5 && e is System.Net.Sockets.SocketException or InvalidOperationException)
        {
            Log($"  warm-up set-up {attempt} failed ({e.Message}); trying again");
        }
    }
}

async Task WarmAsync(AvpnChain patent, SshPeers ssh, int port)
{
    for (var i = 0; i < 10; i++)
    {
        await WarmSetUpAsync(patent.LocalPort);
    }

    await Load.ThroughputAsync(patent.LocalPort, 32L << 20, 1);
    await ssh.StdioSetUpMsAsync(3, port);
}

async Task SetUpRoundAsync(AvpnChain patent, ShippedAvpn shipped, TlsFloorProcess floor, SshPeers ssh, int port, bool sshParallel, int round)
{
    Step($"round {round}/{plan.Rounds}: set-ups through avpn up + avpn connect (shipped), sequential and 20 / 100 in parallel");
    var shippedSeq = new List<double>();
    for (var i = 0; i < plan.SetUpSessions; i++)
    {
        shippedSeq.Add(await Load.SetUpMsAsync(shipped.LocalPort));
    }

    var shippedCpu0 = CpuTree.Seconds([.. shipped.Pids]);
    var shippedPar = await ParallelSetUpsAsync(() => Load.SetUpMsAsync(shipped.LocalPort), plan.ParallelSessions, 20);
    results.Add("shipped.setup.cpu.ms", (CpuTree.Seconds([.. shipped.Pids]) - shippedCpu0) * 1000 / plan.ParallelSessions);
    var shipped100 = await ParallelSetUpsAsync(() => Load.SetUpMsAsync(shipped.LocalPort), Math.Max(plan.ParallelSessions, 200), 100);
    results.Add("shipped.setup.seq.p50", Load.Median(shippedSeq));
    results.Add("shipped.setup.seq.p99", Load.Percentile(shippedSeq, 99));
    results.Add("shipped.setup.par.p50", Load.Median(shippedPar.Times));
    results.Add("shipped.sessions", shippedPar.PerSecond);
    results.Add("shipped.sessions100", shipped100.PerSecond);

    // The floor: the three TLS handshakes of a set-up alone, in a process of their own, in the same round.
    var bare = await floor.MeasureAsync(plan.SetUpSessions, plan.ParallelSessions);
    results.Add("floor.setup.seq.p50", bare.P50);
    results.Add("floor.sessions", bare.PerSecond);
    results.Add("floor.setup.cpu.ms", bare.ParallelCpu);

    Step($"round {round}/{plan.Rounds}: set-ups through the one-process ActorVpn, and ssh -J");
    var seq = new List<double>();
    for (var i = 0; i < plan.SetUpSessions; i++)
    {
        seq.Add(await Load.SetUpMsAsync(patent.LocalPort));
    }

    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var par = await ParallelSetUpsAsync(() => Load.SetUpMsAsync(patent.LocalPort), plan.ParallelSessions, 20);
    results.Add("avpn.setup.cpu.ms", (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / plan.ParallelSessions);
    var sshSeq = new List<double>();
    for (var i = 0; i < plan.SshSetUps; i++)
    {
        sshSeq.Add(await ssh.StdioSetUpMsAsync(3, port));
    }

    var sshPar = sshParallel ? await ParallelSetUpsAsync(() => ssh.StdioSetUpMsAsync(3, port), 20, 20) : sshParLast;
    sshParLast = sshPar;
    results.Add("avpn.setup.seq.p50", Load.Median(seq));
    results.Add("avpn.setup.seq.p99", Load.Percentile(seq, 99));
    results.Add("avpn.setup.par.p50", Load.Median(par.Times));
    results.Add("avpn.setup.par.p99", Load.Percentile(par.Times, 99));
    results.Add("ssh.setup.seq.p50", Load.Median(sshSeq));
    results.Add("ssh.setup.seq.p99", Load.Percentile(sshSeq, 99));
    results.Add("ssh.setup.par.p50", Load.Median(sshPar.Times));
    results.Add("ssh.setup.par.p99", Load.Percentile(sshPar.Times, 99));
    results.Add("avpn.sessions", par.PerSecond); // full new sessions per second, 20 in flight
    results.Add("ssh.sessions", sshPar.PerSecond);
    Log($"  shipped avpn: set-up p50 seq {Load.Median(shippedSeq):0.0} ms, {shippedPar.PerSecond:0}/s with 20 in parallel, {shipped100.PerSecond:0}/s with 100");
    Log($"  TLS floor (3 bare handshakes): p50 seq {bare.P50:0.0} ms, {bare.PerSecond:0}/s with 20 in parallel, {bare.ParallelCpu:0.0} CPU-ms each");
    Log($"  set-up p50 seq avpn {Load.Median(seq):0.0} ms / ssh -J {Load.Median(sshSeq):0} ms; 20 parallel avpn {Load.Median(par.Times):0.0} ms / ssh {Load.Median(sshPar.Times):0} ms");
    Log($"  full sessions/s (20 in parallel) avpn {par.PerSecond:0} / ssh -J {sshPar.PerSecond:0.0}; {results.Get("avpn.setup.cpu.ms")[^1]:0.0} CPU-ms per ActorVpn set-up; load average {Load.Average()}");
}

async Task<(List<double> Times, double PerSecond)> ParallelSetUpsAsync(Func<Task<double>> one, int count, int parallel)
{
    var times = new List<double>();
    var perSecond = await Load.ParallelAsync(async () =>
    {
        var t = await one();
        lock (times)
        {
            times.Add(t);
        }
    }, count, parallel);
    return (times, perSecond);
}

async Task ThroughputRoundAsync(AvpnChain patent, ShippedAvpn shipped, SshPeers ssh, SocatChain socat, OutsideDestination destination, int round)
{
    var (gcmPort, gcm) = await ssh.ForwardAsync(3, destination.Port, "gcm");
    var (defPort, def) = await ssh.ForwardAsync(3, destination.Port, "default");
    try
    {
        // CPU counts the destination process and the contender's own processes (plus the generator, which reports its own).
        double Tree(IEnumerable<int> pids) => CpuTree.Seconds([destination.Pid, .. pids]);
        var contenders = new (string Key, int Port, long Bytes, Func<double> Cpu)[]
        {
            ("direct", destination.Port, plan.StreamBytes, () => Tree([])),
            ("socat", socat.EntryPort, plan.StreamBytes, () => Tree(socat.Pids)),
            ("avpn", shipped.LocalPort, plan.StreamBytes, () => Tree(shipped.Pids)),
            ("avpn1p", patent.LocalPort, plan.StreamBytes, () => Tree([]) + CpuTree.Self()),
            ("ssh-gcm", gcmPort, plan.SshStreamBytes, () => Tree([gcm.Id, .. ssh.Pids])),
            ("ssh-default", defPort, plan.SshStreamBytes, () => Tree([def.Id, .. ssh.Pids])),
        };
        foreach (var streams in new[] { 1, 8 })
        {
            foreach (var (key, p, bytes, cpuOf) in contenders)
            {
                Step($"round {round}/{plan.Rounds}: {streams} stream(s) through {key}");
                var (mibps, cpu) = await Outside.ThroughputAsync(p, bytes, streams, cpuOf);
                results.Add($"{key}.tput{streams}.mibps", mibps);
                results.Add($"{key}.tput{streams}.cpu", cpu);
                Log($"  {streams} stream(s) {key,-11} {mibps,7:0} MiB/s {cpu,5:0.00} CPU-s/GiB; load average {Load.Average()}");
            }
        }
    }
    finally
    {
        Procs.Stop(gcm);
        Procs.Stop(def);
    }
}

async Task RatesRoundAsync(AvpnChain patent)
{
    // Hand-offs per second: the control plane only, as RouteTracer asks it (AuthenticateClient at the home server).
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var (handOffs, elapsed) = await Load.ForAsync(async () =>
    {
        var answer = await patent.Node.Control.AskAsync<object>("as1", new AuthenticateClient("proxy1", patent.Enrollment.CertificateDer, "server", null));
        if (answer is not ClientAuthenticated)
        {
            throw new InvalidOperationException($"hand-off failed: {answer}");
        }
    }, plan.RateWindow, 32);
    var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / Math.Max(1, handOffs);
    results.Add("avpn.handoffs", handOffs / elapsed.TotalSeconds);
    results.Add("avpn.handoff.cpu.ms", cpuMs);
    Log($"  hand-offs/s {handOffs / elapsed.TotalSeconds:0} (32 in flight), {cpuMs:0.00} CPU-ms each; load average {Load.Average()}");
}

async Task IdleSessionsAsync(AvpnChain patent)
{
    // Every session holds 9 sockets in this one process (load generator, client listener accepted + to proxy1, 2 per proxy;
    // the destination is a process of its own): the fd limit, not memory, caps how many fit here.
    var (softLimit, hardLimit) = Fds.Limits();
    var byFds = (int)Math.Max(100, (softLimit - Fds.Open() - 300) / Fds.PerSession);
    var target = Math.Min(plan.IdleSessions, byFds);
    if (target < plan.IdleSessions)
    {
        results.Note(Inv($"Idle sessions: capped at {target:N0} of {plan.IdleSessions:N0}: the open-files limit here is {softLimit:N0} (hard limit {hardLimit:N0}; this process {(Fds.CanRaiseHardLimit() ? "has" : "lacks")} CAP_SYS_RESOURCE, which raising it past the hard limit needs), and each session holds {Fds.PerSession} sockets in the harness's one process. {plan.IdleSessions:N0} sessions need ~{plan.IdleSessions * Fds.PerSession:N0}."));
    }

    var sockets = new List<Socket>(target);
    try
    {
        var budget = Stopwatch.StartNew();
        await OpenIdleAsync(target / 2);
        var half = Memory.Sample();
        var halfCount = sockets.Count;
        await OpenIdleAsync(target);
        await Task.Delay(1000);
        var full = Memory.Sample();
        var opened = sockets.Count;
        if (opened < target)
        {
            results.Note($"Idle sessions: the {plan.IdleBudget.TotalSeconds:0} s budget ended after {opened} of {target} sessions were open; the figure is per session of those.");
        }

        // The slope between half and all sessions open: one-time growth (thread pool, caches, first GC segments) cancels out.
        var added = 3.0 * Math.Max(1, opened - halfCount);
        var heap = (full.Heap - half.Heap) / 1024.0 / added;
        var ws = (full.WorkingSet - half.WorkingSet) / 1024.0 / added;
        results.Add("avpn.idle.sessions", opened);
        results.Add("avpn.idle.heap.kib", heap);
        results.Add("avpn.idle.ws.kib", ws);
        Log($"  {opened} idle sessions (limit by fds {byFds}): GC heap {heap:0.0} KiB, working set {ws:0.0} KiB per session per proxy (slope {halfCount} -> {opened}); GC heap {full.Heap / 1048576.0:0} MiB, working set {full.WorkingSet / 1048576.0:0} MiB");

        async Task OpenIdleAsync(int upTo)
        {
            await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
            {
                while (budget.Elapsed < plan.IdleBudget)
                {
                    lock (sockets)
                    {
                        if (sockets.Count + Interlocked.CompareExchange(ref opening, 0, 0) >= upTo)
                        {
                            return;
                        }

                        Interlocked.Increment(ref opening);
                    }

                    try
                    {
                        var s = await Load.OpenEchoAsync(patent.LocalPort);
                        lock (sockets)
                        {
                            sockets.Add(s);
                        }
                    }
                    finally
                    {
                        Interlocked.Decrement(ref opening);
                    }
                }
            })));
        }
    }
    catch (Exception e)
    {
        Log($"  idle sessions stopped at {sockets.Count}: {e.GetType().Name}: {e.Message}");
        results.Note($"10,000 idle sessions: stopped at {sockets.Count} sessions ({e.GetType().Name}: {e.Message})");
    }
    finally
    {
        foreach (var s in sockets)
        {
            s.Dispose();
        }
    }
}

async Task ScaleAsync(SshPeers ssh, int port)
{
    var budget = Stopwatch.StartNew();
    foreach (var hops in new[] { 1, 3, 8, 16 })
    {
        Step($"scale: {hops} hop(s), ActorVpn against ssh -J");
        if (budget.Elapsed > plan.ScaleBudget || total.Elapsed > plan.Bound * 0.9)
        {
            results.Note($"Scale: {hops} hops not measured, the {plan.ScaleBudget.TotalSeconds:0} s budget was spent (or the run's bound was near).");
            continue;
        }

        await using var chain = await AvpnChain.StartAsync(ChainTopologyText(hops, port));
        for (var i = 0; i < 3; i++)
        {
            await Load.SetUpMsAsync(chain.LocalPort); // warm
        }

        var times = new List<double>();
        for (var i = 0; i < plan.ScaleSessions; i++)
        {
            times.Add(await Load.SetUpMsAsync(chain.LocalPort));
        }

        var sshTimes = new List<double>();
        for (var i = 0; i < plan.ScaleSsh; i++)
        {
            sshTimes.Add(await ssh.StdioSetUpMsAsync(hops, port));
        }

        results.Add($"avpn.scale{hops}", Load.Median(times));
        results.Add($"ssh.scale{hops}", Load.Median(sshTimes));
        Log($"  {hops,2} hops: set-up p50 avpn {Load.Median(times):0.0} ms / ssh -J {Load.Median(sshTimes):0} ms");
    }
}

static string Inv(FormattableString text) => FormattableString.Invariant(text);

static string ChainTopologyText(int proxies, int port)
{
    var text = new StringBuilder($"actorvpn.topology {{\n  destinations {{ server = \"127.0.0.1:{port}\" }}\n  auth-servers {{\n");
    for (var k = 1; k <= proxies; k++)
    {
        var next = k == proxies ? "end" : $"as{k + 1}";
        var trusts = k == 1 ? string.Empty : $", trusts = [as{k - 1}]";
        text.Append(CultureInfo.InvariantCulture, $"    as{k} {{ routes {{ server = {next} }}, relays {{ server = proxy{k} }}{trusts} }}\n");
    }

    text.Append("  }\n  proxies {\n");
    for (var k = 1; k <= proxies; k++)
    {
        text.Append(CultureInfo.InvariantCulture, $"    proxy{k} {{ auth-server = as{k}, listen = \"127.0.0.1:{7100 + k}\" }}\n");
    }

    text.Append("  }\n}\n");
    return text.ToString();
}
