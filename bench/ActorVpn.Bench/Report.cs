using System.Globalization;
using System.Text;

namespace ActorVpn.Bench;

/// <summary>Every figure of the run, one value per round (or per sample) under a key.</summary>
internal sealed class Results
{
    private readonly Dictionary<string, List<double>> _values = new(StringComparer.Ordinal);

    public List<string> Notes { get; } = [];

    /// <summary>The concurrent-sessions phase (one process per proxy), when it ran.</summary>
    public SessionsOutcome? Sessions { get; set; }

    public void Add(string key, double value)
    {
        if (!_values.TryGetValue(key, out var list))
        {
            _values[key] = list = [];
        }

        list.Add(value);
    }

    public void Note(string text) => Notes.Add(text);

    public IReadOnlyList<double> Get(string key) => _values.TryGetValue(key, out var list) ? list : [];
}

internal static class Report
{
    private sealed record Row(string Figure, string Avpn, string? Peer, string PeerName, string Unit, string Target, Func<double, bool>? Met);

    // "ActorVpn" is the product as shipped (avpn up + avpn connect, two processes) unless a row says "one process".
    private static readonly Row[] Rows =
    [
        new("set-up p50, sequential (3 proxies vs 3 hops)", "shipped.setup.seq.p50", "ssh.setup.seq.p50", "ssh -J h1,h2 h3 -W", "ms", "", null),
        new("set-up p99, sequential", "shipped.setup.seq.p99", "ssh.setup.seq.p99", "ssh -J h1,h2 h3 -W", "ms", "", null),
        new("set-up p50, 20 in parallel", "shipped.setup.par.p50", "ssh.setup.par.p50", "ssh -J h1,h2 h3 -W", "ms", "", null),
        new("new full sessions/s, 20 in parallel", "shipped.sessions", "ssh.sessions", "ssh -J 3-hop set-ups/s, 20 in parallel", "1/s", "≥ 100", r => r >= 100),
        new("new full sessions/s, 20 in parallel (one process)", "avpn.sessions", "ssh.sessions", "ssh -J 3-hop set-ups/s, 20 in parallel", "1/s", "", null),
        new("throughput, 1 stream", "avpn.tput1.mibps", "socat.tput1.mibps", "3 socat relays, -b 131072", "MiB/s", "≥ 0.6", r => r >= 0.6),
        new("throughput, 1 stream", "avpn.tput1.mibps", "ssh-gcm.tput1.mibps", "ssh -J -L, aes128-gcm every hop", "MiB/s", "", null),
        new("throughput, 1 stream", "avpn.tput1.mibps", "ssh-default.tput1.mibps", "ssh -J -L, default cipher", "MiB/s", "", null),
        new("throughput, 1 stream", "avpn.tput1.mibps", "direct.tput1.mibps", "direct loopback TCP", "MiB/s", "", null),
        new("throughput, 1 stream (one process)", "avpn1p.tput1.mibps", "socat.tput1.mibps", "3 socat relays, -b 131072", "MiB/s", "", null),
        new("throughput, 8 streams", "avpn.tput8.mibps", "socat.tput8.mibps", "3 socat relays, -b 131072", "MiB/s", "≥ 0.6", r => r >= 0.6),
        new("throughput, 8 streams", "avpn.tput8.mibps", "ssh-gcm.tput8.mibps", "ssh -J -L, aes128-gcm every hop", "MiB/s", "", null),
        new("throughput, 8 streams (one process)", "avpn1p.tput8.mibps", "socat.tput8.mibps", "3 socat relays, -b 131072", "MiB/s", "", null),
        new("CPU-s per GiB, 1 stream", "avpn.tput1.cpu", "ssh-gcm.tput1.cpu", "ssh -J -L, aes128-gcm every hop", "CPU-s/GiB", "≤ 0.5", r => r <= 0.5),
        new("CPU-s per GiB, 1 stream", "avpn.tput1.cpu", "ssh-default.tput1.cpu", "ssh -J -L, default cipher", "CPU-s/GiB", "", null),
        new("CPU-s per GiB, 1 stream", "avpn.tput1.cpu", "socat.tput1.cpu", "3 socat relays, -b 131072", "CPU-s/GiB", "", null),
        new("CPU-s per GiB, 1 stream", "avpn.tput1.cpu", "direct.tput1.cpu", "direct loopback TCP", "CPU-s/GiB", "", null),
        new("CPU-s per GiB, 1 stream (one process)", "avpn1p.tput1.cpu", "ssh-gcm.tput1.cpu", "ssh -J -L, aes128-gcm every hop", "CPU-s/GiB", "", null),
        new("CPU-s per GiB, 8 streams", "avpn.tput8.cpu", "ssh-gcm.tput8.cpu", "ssh -J -L, aes128-gcm every hop", "CPU-s/GiB", "", null),
        new("CPU-s per GiB, 8 streams", "avpn.tput8.cpu", "socat.tput8.cpu", "3 socat relays, -b 131072", "CPU-s/GiB", "", null),
        new("set-up p50, sequential, against the TLS floor", "shipped.setup.seq.p50", "floor.setup.seq.p50", Floor, "ms", "", null),
        new("new full sessions/s, 20 in parallel, against the TLS floor", "shipped.sessions", "floor.sessions", Floor, "1/s", "", null),
        new("CPU-ms per set-up, 20 in parallel, against the TLS floor", "shipped.setup.cpu.ms", "floor.setup.cpu.ms", Floor, "CPU-ms", "", null),
        new("the TLS floor itself (not ActorVpn): sets/s, 20 in parallel", "floor.sessions", "ssh.sessions", "ssh -J 3-hop set-ups/s, 20 in parallel", "1/s", "", null),
        new("hand-offs/s (control plane only, one process, 32 in parallel)", "avpn.handoffs", "ssh.sessions", "ssh -J 3-hop set-ups/s, 20 in parallel", "1/s", "", null),
    ];

    private const string Floor = "TLS floor: 3 bare TLS 1.3 handshakes, no relay, no auth";

    private static readonly int[] Hops = [1, 3, 8, 16];

    public static string Write(Results results, Plan plan, bool quick, string docs, TimeSpan elapsed)
    {
        var md = new StringBuilder();
        md.AppendLine("# Benchmarks");
        md.AppendLine();
        md.AppendLine("Generated by the harness (`bench/run.sh" + (quick ? " --quick" : string.Empty) + "`); do not edit by hand. Every peer ran in the same run, on the same machine, over loopback.");
        md.AppendLine("The machine is noisy: read the **ratios** (ActorVpn / peer, one per round, min / median / max), not single times.");
        md.AppendLine();
        md.AppendLine(Inv($"Run: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, mode `{(quick ? "--quick" : "default")}`, {plan.Rounds} rounds, {elapsed.TotalSeconds:0} s in all."));
        md.AppendLine(Inv($"Per round: {plan.SetUpSessions} ActorVpn set-ups sequentially and {plan.ParallelSessions} with 20 in parallel; {plan.SshSetUps} `ssh -J` set-ups sequentially and 20 in parallel; one stream of {plan.StreamBytes >> 20} MiB (ssh forwards {plan.SshStreamBytes >> 20} MiB) and 8 streams sharing as much."));
        md.AppendLine();
        md.AppendLine("## Patent topology (3 proxies, 4 auth servers) against its peers");
        md.AppendLine();
        md.AppendLine("| figure | peer | ActorVpn (median) | peer (median) | ratio min | ratio median | ratio max | target | met |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|:---:|");
        foreach (var row in Rows)
        {
            var a = results.Get(row.Avpn);
            var p = row.Peer is null ? [] : results.Get(row.Peer);
            if (a.Count == 0 || p.Count == 0)
            {
                md.AppendLine($"| {row.Figure} | {row.PeerName} | not measured | | | | | {row.Target} | |");
                continue;
            }

            var ratios = a.Zip(p, (x, y) => x / y).ToList();
            var median = Load.Median(ratios);
            var met = row.Met is null ? string.Empty : row.Met(median) ? "yes" : "**no**";
            md.AppendLine(Inv($"| {row.Figure} | {row.PeerName} | {Fmt(Load.Median(a))} {row.Unit} | {Fmt(Load.Median(p))} {row.Unit} | {Fmt(ratios.Min())} | **{Fmt(median)}** | {Fmt(ratios.Max())} | {row.Target} | {met} |"));
        }

        md.AppendLine();
        md.AppendLine("The **TLS floor** is what the three TLS 1.3 handshakes of a set-up cost by themselves on this machine, measured in the same round in a process of");
        md.AppendLine("its own (`--tls-floor`): three TCP connections in turn, each with the shipped handshake (mutual certificates, resumed, the pin check) and one");
        md.AppendLine("byte each way, and nothing else: no relay, no nesting, no auth server, no actor. No ActorVpn set-up can be faster or cheaper than it,");
        md.AppendLine("so a set-up target below the floor cannot be met by tuning ActorVpn.");
        md.AppendLine();
        md.AppendLine("## Absolute targets");
        md.AppendLine();
        md.AppendLine("| figure | min | median | max | target | met |");
        md.AppendLine("|---|---:|---:|---:|---:|:---:|");
        Absolute(md, results, "set-up p50, sequential, through avpn up + avpn connect (ms)", "shipped.setup.seq.p50", "≤ 5", v => v <= 5);
        Absolute(md, results, "set-up p50, sequential, of the TLS floor alone (3 bare handshakes; not ActorVpn) (ms)", "floor.setup.seq.p50", "", null);
        Absolute(md, results, "new full sessions/s through avpn up + avpn connect, 100 in parallel", "shipped.sessions100", "", null);
        Absolute(md, results, "CPU-ms per full set-up in avpn up + avpn connect (20 in flight)", "shipped.setup.cpu.ms", "", null);
        Absolute(md, results, "hand-offs per second (control plane, patent topology)", "avpn.handoffs", "≥ 2,000", v => v >= 2000);
        // The target is 10,000 or the open-files ceiling, whichever is lower; --quick asks for fewer and is held to those.
        var ceiling = Math.Min(10_000, results.Sessions?.Ceiling ?? 10_000);
        var asked = Math.Min(ceiling, results.Sessions?.Asked ?? ceiling);
        var sessionsTarget = (ceiling < 10_000 ? Inv($"≥ 10,000 (fd ceiling here: {ceiling:N0})") : "≥ 10,000") + (asked < ceiling ? Inv($"; this run asked {asked:N0}") : string.Empty);
        Absolute(md, results, "concurrent idle sessions held, one process per proxy (each proxy its own `avpn node`)", "mp.sessions", sessionsTarget, v => v >= asked);
        Absolute(md, results, "memory per session per proxy, one process per proxy, resident set (slope, costliest proxy), KiB", "mp.rss.kib", "≤ 64", v => v <= 64);
        Absolute(md, results, "memory per session per proxy, one process per proxy, GC heap (slope, costliest proxy), KiB", "mp.heap.kib", "≤ 64", v => v <= 64);
        Absolute(md, results, "concurrent idle sessions held (one process: client, 3 proxies, auth servers)", "avpn.idle.sessions", "", null);
        Absolute(md, results, Inv($"memory per idle session per proxy (one process), GC heap ({results.Get("avpn.idle.sessions").FirstOrDefault():N0} concurrent sessions), KiB"), "avpn.idle.heap.kib", "", null);
        Absolute(md, results, "memory per idle session per proxy (one process), working set, KiB", "avpn.idle.ws.kib", "", null);
        Absolute(md, results, "CPU-ms per hand-off (harness process, 32 in flight; load generator included)", "avpn.handoff.cpu.ms", "", null);
        Absolute(md, results, "CPU-ms per full set-up (harness process, 20 in flight; client, proxies, auth servers, destination)", "avpn.setup.cpu.ms", "", null);

        md.AppendLine();
        md.Append(Sessions(results));
        md.AppendLine();
        md.AppendLine("## Scale: set-up time against hop count");
        md.AppendLine();
        md.AppendLine("A straight chain of n proxies (n auth servers, each routing to the next) against `ssh -J` through n `sshd` instances with a stdio forward.");
        md.AppendLine();
        md.AppendLine("| hops | ActorVpn p50 | ssh -J p50 | ratio | ActorVpn growth vs 1 hop | ssh -J growth vs 1 hop |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|");
        var a1 = results.Get("avpn.scale1").FirstOrDefault();
        var s1 = results.Get("ssh.scale1").FirstOrDefault();
        var xs = new List<double>();
        var ya = new List<double>();
        var ys = new List<double>();
        foreach (var h in Hops)
        {
            var a = results.Get($"avpn.scale{h}");
            var s = results.Get($"ssh.scale{h}");
            if (a.Count == 0)
            {
                md.AppendLine(Inv($"| {h} | not measured | | | | |"));
                continue;
            }

            xs.Add(h);
            ya.Add(a[0]);
            ys.Add(s.Count > 0 ? s[0] : double.NaN);
            md.AppendLine(Inv($"| {h} | {Fmt(a[0])} ms | {(s.Count > 0 ? Fmt(s[0]) + " ms" : "not measured")} | {(s.Count > 0 ? Fmt(a[0] / s[0]) : "")} | {Fmt(a[0] / a1)}× | {(s.Count > 0 ? Fmt(s[0] / s1) + "×" : "")} |"));
        }

        if (ya.Count == Hops.Length)
        {
            // Linear growth: the cost of one more hop does not rise with the chain's length (1.5× allows for noise).
            var first = (ya[1] - ya[0]) / (xs[1] - xs[0]);
            var last = (ya[^1] - ya[^2]) / (xs[^1] - xs[^2]);
            md.AppendLine();
            md.AppendLine(Inv($"Target \"set-up grows at most linearly with hop count\": each extra hop costs {Fmt(first)} ms between 1 and 3 hops and {Fmt(last)} ms between 8 and 16 hops (16 hops take {Fmt(ya[^1] / ya[0])}× one hop): **{(last <= first * 1.5 ? "met" : "not met")}**."));
        }

        md.AppendLine();
        md.AppendLine("![set-up time against hop count](benchmarks-setup-vs-hops.png)");
        Plot.SetUpVsHops(Path.Combine(docs, "benchmarks-setup-vs-hops.png"), xs, ya, ys);

        md.AppendLine();
        md.AppendLine("## How each figure is taken");
        md.AppendLine();
        md.AppendLine("- **ActorVpn as shipped** (rows without \"one process\"): the built `avpn` started twice, `avpn up --store memory` (every auth server and proxy of the patent topology) and `avpn connect --profile alice.avpn --to server --listen …`, each its own process. **One process**: the same components hosted in the harness's process (`VpnNode`), kept for profiling (`--probe`).");
        md.AppendLine("- **The destination and the load generator** run in processes of their own (the harness started with `--serve` and `--generate`), never in a contender's, and are the same two for every contender.");
        md.AppendLine("- **Set-up time**: the harness opens a connection to a running `avpn connect` listener; local TCP connect → one byte written → that byte echoed back by the destination process. `ssh -J`: process start of `ssh -J h1,h2 -p p3 -W dest root@127.0.0.1` → the same byte echoed through its stdio forward (what a user of `ssh -J` waits for).");
        md.AppendLine("- **Throughput**: the generator process writes the payload, half-closes, and the destination process answers with the byte count it received; MiB/s over that time. One stream, then 8 parallel streams sharing the same total. Peers: direct loopback TCP; 3 `socat -b 131072 TCP-LISTEN,fork` relays in a row; `ssh -J h1,h2 -L … h3 -N` with the default cipher and with `Ciphers aes128-gcm@openssh.com` in the `ssh_config` given with `-F`, which ssh passes on to the ssh it runs for every `-J` hop (nested: every hop's ssh connection runs inside the previous one, as ActorVpn's TLS sessions do).");
        md.AppendLine("- **CPU-s per GiB**: CPU time (user + system, from `/proc/PID/stat`) of the generator, the destination and the contender's own processes with every child they forked (sshd and socat fork one per connection) over the transfer, per GiB moved; on a shared machine, other people's work is not counted.");
        md.AppendLine("- **Hand-offs/s**: `AuthenticateClient` asked of the home auth server (as `avpn route trace` does), 32 in flight, for a fixed window: the whole Figs. 7-9 hand-off as1 → as2 → as4 → as3 with signatures, no data plane.");
        md.AppendLine("- **Full sessions/s**: complete set-ups (connect, hand-off, 3 nested TLS handshakes, destination echo, close) with 20 (and 100) in flight, vs `ssh -J` 3-hop set-ups with 20 processes in flight.");
        md.AppendLine("- **TLS floor**: the harness started with `--tls-floor` and the runtime setting `avpn` ships, warmed with 1,500 sets: a client and three TLS endpoints (P-256 certificates, as every ActorVpn identity) in that one process. A set is three TCP connections in turn, each with `TlsHop`'s handshake (TLS 1.3, mutual certificates, the per-hop server name, so every hop resumes its session, and the pin check), one byte there and back, and a close. Timed in each round right after the shipped set-ups, with as many sets sequentially and with 20 in flight; CPU is that process's own.");
        md.AppendLine("- **Concurrent sessions, one process per proxy**: `avpn node` for the auth servers (groups as1 and as4) and one `avpn node` per proxy (in-memory store, the README's multi-node walkthrough with the proxy node split in three), several `avpn connect` processes (one topology user each), the load generator (the harness with `--hold`) and the destination each a process of its own. The generator opens echo sessions through the clients (each carried a byte to the destination and back) and holds them idle; at each level it times new set-ups (open, one byte echoed, close) one after another and checks that held sessions, spread over all, still echo 32 fresh bytes intact. Per proxy process: resident set (`VmRSS`, /proc/PID/status), managed heap after its last collection (the `avpn_process_gc_heap_bytes` gauge on the node's `/metrics`; no collection forced), descriptors, sessions it relays (`avpn_proxy_sessions_active`). Memory per session is the slope between the lowest and the highest level reached, so one-time growth cancels out. The shipped admission limits are kept: each client is its own user, and at most 32 set-ups are in flight (under the per-address caps).");
        md.AppendLine("- **Memory per idle session per proxy (one process)**: the harness's own process (client listener, all 3 proxies, auth servers) after a full GC (`GC.GetTotalMemory`, and the working set from the OS), with N/2 and then N sessions open and idle; the growth between the two divided by N/2 × 3 proxies, so one-time growth (thread pool, caches) cancels out. The client's and destination's share is included, so this over-states a proxy's cost. N is 10,000, or fewer when the process's open-files limit cannot hold 10 sockets per session (see the notes).");
        md.AppendLine();
        md.AppendLine("## Not measured");
        md.AppendLine();
        md.AppendLine("- Route hand-off with 100,000 registered users (scale) — not built yet.");
        if (quick)
        {
            md.AppendLine(Inv($"- `--quick` shrinks the run: {plan.IdleSessions} idle sessions in one process instead of 10,000, {string.Join(" / ", SessionsPlan.Quick.Levels.Select(l => l.ToString("N0", CultureInfo.InvariantCulture)))} with one process per proxy ({SessionsPlan.Quick.Budget.TotalSeconds:0} s budget) instead of 1,000 / 5,000 / 10,000, {plan.StreamBytes >> 20} MiB streams instead of ≥ 1 GiB, {plan.SetUpSessions} sequential ActorVpn set-ups per round ({plan.SetUpSessions * plan.Rounds} over the run), {plan.SshSetUps} sequential `ssh -J` samples per round. Run `bench/run.sh` (default) for the full figures."));
        }

        if (plan.SshParallelRounds < plan.Rounds)
        {
            md.AppendLine(Inv($"- `ssh -J` with 20 in parallel is measured in the first {plan.SshParallelRounds} round(s) only; later rounds divide by that figure (so its ratio spread shows ActorVpn's spread only)."));
        }

        md.AppendLine(Inv($"- `ssh -J` set-up samples are fewer than ActorVpn's ({plan.SshSetUps} sequential + 20 parallel per round; 0.5-1.5 s each), so its p99 is close to its maximum. Scale: {plan.ScaleSessions} ActorVpn and {plan.ScaleSsh} `ssh -J` samples per hop count, one round."));
        foreach (var note in results.Notes)
        {
            md.AppendLine($"- {note}");
        }

        var file = Path.Combine(docs, "benchmarks.md");
        PreviousRun(md, file);
        var text = md.ToString();
        File.WriteAllText(file, text);
        return text;
    }

    /// <summary>The concurrent-sessions section: one row per level reached, each proxy's growth per session, and what stopped the phase.</summary>
    public static string Sessions(Results results)
    {
        var md = new StringBuilder();
        md.AppendLine("## Concurrent sessions, one process per proxy");
        md.AppendLine();
        if (results.Sessions is not { } outcome)
        {
            md.AppendLine("Not measured (see the notes).");
            return md.ToString();
        }

        md.AppendLine(Inv($"The patent chain with proxy1, proxy2 and proxy3 each in its own `avpn node`, the auth servers in another, {outcome.Clients} `avpn connect` processes, the load generator and the destination in processes of their own; all started in {outcome.StartSeconds:0} s. Per proxy: resident set MiB / managed heap MiB / descriptors / sessions it relays."));
        md.AppendLine();
        md.AppendLine("| open sessions | set-up p50 | set-up p99 | set-ups timed | held sessions echoing intact | proxy1 | proxy2 | proxy3 | load average |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var level in outcome.Levels)
        {
            var times = level.SetUpMs.Count == 0 ? "| | | " : Inv($"| {Fmt(Load.Median(level.SetUpMs))} ms | {Fmt(Load.Percentile(level.SetUpMs, 99))} ms | {level.SetUpMs.Count} ");
            var echoes = level.EchoChecked == 0 ? string.Empty : Inv($"{level.EchoOk} of {level.EchoChecked}");
            md.Append(Inv($"| {level.Open:N0} {times}| {echoes} |"));
            foreach (var p in level.Proxies)
            {
                md.Append(Inv($" {p.RssKiB / 1024.0:0} / {p.GcHeapBytes / 1048576.0:0} / {p.Fds:N0} / {p.Active:N0} |"));
            }

            md.AppendLine($" {level.Load} |");
        }

        md.AppendLine();
        var levels = outcome.Levels.Where(l => l.Open > 0).ToList();
        if (levels.Count > 0)
        {
            var from = levels.Count > 1 ? levels[0].Open : 0;
            md.AppendLine(Inv($"Growth per added session, {from:N0} → {levels[^1].Open:N0} open (target ≤ 64 KiB per session per proxy):"));
            md.AppendLine();
            md.AppendLine("| proxy process | resident set, KiB per session | managed heap, KiB per session |");
            md.AppendLine("|---|---:|---:|");
            foreach (var (proxy, rss, heap) in outcome.Slopes())
            {
                md.AppendLine(Inv($"| {proxy} | {Fmt(rss)} | {Fmt(heap)} |"));
            }

            md.AppendLine();
        }

        md.AppendLine(Inv($"Ceiling: {outcome.Ceiling:N0} sessions, set by {outcome.CeilingBy}."));
        md.AppendLine(string.IsNullOrEmpty(outcome.Stopped) ? "Every level was reached." : $"Stopped short: {outcome.Stopped}.");
        return md.ToString();
    }

    /// <summary>
    /// The previous report's run line and main table, carried over so the old and new figures stand side by side
    /// (on another day and load: compare ratios, not absolute figures).
    /// </summary>
    private static void PreviousRun(StringBuilder md, string file)
    {
        if (!File.Exists(file))
        {
            return;
        }

        var lines = File.ReadAllLines(file);
        var run = lines.FirstOrDefault(l => l.StartsWith("Run: ", StringComparison.Ordinal));
        var table = lines.SkipWhile(l => !l.StartsWith("| figure | peer |", StringComparison.Ordinal)).TakeWhile(l => l.StartsWith('|')).ToList();
        if (run is null || table.Count == 0)
        {
            return;
        }

        md.AppendLine();
        md.AppendLine("## Previous run, for comparison");
        md.AppendLine();
        md.AppendLine($"The report this run replaced ({run[5..].TrimEnd('.')}); its own notes said how it measured.");
        md.AppendLine();
        foreach (var line in table)
        {
            md.AppendLine(line);
        }
    }

    private static void Absolute(StringBuilder md, Results results, string figure, string key, string target, Func<double, bool>? met)
    {
        var v = results.Get(key);
        if (v.Count == 0)
        {
            md.AppendLine($"| {figure} | not measured | | | {target} | |");
            return;
        }

        var median = Load.Median(v);
        md.AppendLine(Inv($"| {figure} | {Fmt(v.Min())} | **{Fmt(median)}** | {Fmt(v.Max())} | {target} | {(met is null ? string.Empty : met(median) ? "yes" : "**no**")} |"));
    }

    private static string Fmt(double v) => v switch
    {
        double.NaN => "-",
        >= 100 => v.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => v.ToString("0.0", CultureInfo.InvariantCulture),
        >= 0.1 => v.ToString("0.00", CultureInfo.InvariantCulture),
        _ => v.ToString("0.000", CultureInfo.InvariantCulture),
    };

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

internal static class Plot
{
    public static void SetUpVsHops(string path, List<double> hops, List<double> avpn, List<double> ssh)
    {
        var plot = new ScottPlot.Plot();
        if (hops.Count > 0)
        {
            var a = plot.Add.Scatter(hops.ToArray(), avpn.ToArray());
            a.LegendText = "ActorVpn (proxies)";
            a.MarkerSize = 8;
            var sshHops = hops.Where((_, i) => !double.IsNaN(ssh[i])).ToArray();
            var sshTimes = ssh.Where(v => !double.IsNaN(v)).ToArray();
            if (sshTimes.Length > 0)
            {
                var s = plot.Add.Scatter(sshHops, sshTimes);
                s.LegendText = "ssh -J (sshd hops)";
                s.MarkerSize = 8;
            }
        }

        plot.Title("Set-up time (p50) against hop count, same run");
        plot.XLabel("hops");
        plot.YLabel("set-up time p50 (ms)");
        plot.Axes.SetLimitsY(0, Math.Max(1, avpn.Concat(ssh).Where(v => !double.IsNaN(v)).DefaultIfEmpty(1).Max() * 1.1));
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(path, 800, 480);
    }
}
