using System.Diagnostics;
using ActorVpn.Client;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Configuration;

namespace ActorVpn.Bench;

/// <summary>How much each phase does. Idle sessions and scale also stop at a time budget, so a loaded machine cannot blow the run's bound.</summary>
/// <remarks><see cref="SshParallelRounds"/>: a batch of 20 parallel <c>ssh -J</c> set-ups costs ~10-15 s of a loaded 2-core machine, so
/// --quick takes it in the first round only and later rounds divide by that round's figure.</remarks>
internal sealed record Plan(int Rounds, int SetUpSessions, int ParallelSessions, int SshSetUps, int SshParallelRounds, long StreamBytes, long SshStreamBytes,
    TimeSpan RateWindow, int IdleSessions, TimeSpan IdleBudget, int ScaleSessions, int ScaleSsh, TimeSpan ScaleBudget, TimeSpan Bound)
{
    public static readonly Plan Quick = new(2, 100, 40, 2, 1, 128L << 20, 16L << 20, TimeSpan.FromSeconds(1.5),
        1000, TimeSpan.FromSeconds(20), 10, 1, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(115));

    public static readonly Plan Default = new(3, 300, 300, 10, 3, 1L << 30, 256L << 20, TimeSpan.FromSeconds(4),
        10_000, TimeSpan.FromSeconds(150), 100, 3, TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(540));
}

/// <summary>A running ActorVpn system (every auth server and proxy, ephemeral ports), user alice enrolled, an <c>avpn connect</c> listener.</summary>
internal sealed class AvpnChain : IAsyncDisposable
{
    private AvpnChain(VpnNode node, UserEnrollment enrollment, int localPort)
    {
        Node = node;
        Enrollment = enrollment;
        LocalPort = localPort;
    }

    public VpnNode Node { get; }

    public UserEnrollment Enrollment { get; }

    public int LocalPort { get; }

    public static async Task<AvpnChain> StartAsync(string topologyText)
    {
        var loaded = TopologyLoader.LoadText(topologyText, "bench topology");
        var topology = new TopologyModel(loaded.Source, loaded.Destinations, loaded.AuthServers,
            loaded.Proxies.Select(p => p with { Listen = new HostPort("127.0.0.1", 0) }).ToList(), loaded.Users);
        // The hand-off probe drives ~thousands of set-ups a second from one user through one entry proxy:
        // it measures the control plane, so the per-user and per-proxy admission buckets (which would
        // refuse it by design) are opened wide, as an operator load-testing the auth servers would.
        var node = await VpnNode.StartAsync(topology, ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            actorvpn.auth-server.admission {
              per-user-per-second = 1000000
              per-user-burst = 1000000
              per-proxy-per-second = 1000000
              per-proxy-burst = 1000000
            }
            """));
        var enrollment = await node.Control.RegisterUserAsync("alice", "as1", by: "bench");
        ClientProfile profile = node.ProfileFor(enrollment);
        var local = HostPort.Parse(await node.ConnectAsync(profile, "server"));
        return new AvpnChain(node, enrollment, local.Port);
    }

    public ValueTask DisposeAsync() => Node.DisposeAsync();
}

internal static class Memory
{
    public static (long Heap, long WorkingSet) Sample()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var self = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(false), self.WorkingSet64);
    }
}

/// <summary>The process's open-file limits and use, from /proc (Linux).</summary>
internal static class Fds
{
    public const int PerSession = 9;

    public static (long Soft, long Hard) Limits()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return (Parse(parts[0]), Parse(parts[1]));
            }
        }

        return (1024, 1024);

        static long Parse(string value) => value == "unlimited" ? long.MaxValue / 2 : long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Whether this process may raise its hard limit (CAP_SYS_RESOURCE, bit 24 of CapEff).</summary>
    public static bool CanRaiseHardLimit()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["CapEff:".Length..].Trim(), 16) & (1UL << 24)) != 0;
    }

    public static int Open() => Directory.GetFiles("/proc/self/fd").Length;
}
