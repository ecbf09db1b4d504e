using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ActorVpn.AuthServers.HandOff;
using ActorVpn.Client;
using ActorVpn.Cluster;
using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.Protocol;
using ActorVpn.Proxies;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;
using Akka.Remote;
using Akka.Remote.Transport;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Testing;

/// <summary>How a cluster scenario is started.</summary>
public sealed record ClusterScenarioOptions
{
    /// <summary>Extra HOCON for every node, e.g. <c>actorvpn.auth-server.handoff-timeout = 2s</c>.</summary>
    public string? Config { get; init; }

    /// <summary>
    /// The shared durable store: a PostgreSQL connection string to a fresh database (e.g. from
    /// AVPN_TEST_POSTGRES), or null for a SQLite file of the scenario's own.
    /// </summary>
    public string? Postgres { get; init; }
}

/// <summary>
/// N cluster nodes (<see cref="ClusterNode"/>s: separate ActorSystems on loopback, real Akka.Remote
/// TCP, tuned failure detection) carrying one topology, with an echo server behind every destination.
/// Placement: node1 is the seed and runs every proxy and the client listeners; top-level group k
/// (in topology order) may run on node k and node k+1 (cyclic), so it starts on node k (the older)
/// and fails over to node k+1. Every node journals to one shared store, so a group that moves
/// recovers its users and credentials. Faults: <see cref="Faults"/> at named patent steps (on any
/// node), <see cref="KillNodeAsync"/> (a crash: no leave), <see cref="KillNodeAt"/> (a crash at a
/// named step, mid-hand-off), <see cref="Partition"/> between two nodes (Akka.Remote's throttler
/// transport adapter: a black hole both ways), <see cref="Throttle"/> (the same adapter: a bandwidth
/// limit both ways), <see cref="StoreOutageAsync"/> (the shared
/// PostgreSQL refuses every node). <see cref="AssertInvariantsAsync"/> checks what
/// <see cref="VpnScenario.AssertInvariantsAsync"/> does, over the whole cluster.
/// </summary>
public sealed partial class ClusterScenario : IAsyncDisposable
{
    /// <summary>
    /// Cluster timings for tests on loopback: a dead node is noticed, downed and its singletons
    /// moved in about a second instead of Akka's production defaults (tens of seconds).
    /// </summary>
    public const string FastClusterTimings = """
        akka.loglevel = WARNING
        akka.cluster {
          periodic-tasks-initial-delay = 0s, gossip-interval = 200ms, leader-actions-interval = 200ms
          unreachable-nodes-reaper-interval = 200ms, retry-unsuccessful-join-after = 1s, seed-node-timeout = 2s
          failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 1s, expected-response-after = 200ms }
          split-brain-resolver.stable-after = 1s
          down-removal-margin = 3s # stable-after + acceptable-heartbeat-pause + 1s: a group never runs on both sides of a split
          singleton.hand-over-retry-interval = 200ms
        }
        akka.coordinated-shutdown.phases.cluster-exiting.timeout = 2s
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """;

    private const string Tuning = FastClusterTimings + """

        akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0, applied-adapters = [trttl] }
        # a killed node stops without leaving the cluster (a crash)
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        actorvpn.node { health.port = 0, drain-period = 1s }
        """;

    private readonly Dictionary<string, EchoServer> _destinations;
    private readonly Dictionary<string, ClusterNode> _nodes;
    private readonly List<string> _names;
    private readonly HashSet<string> _killed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UserEnrollment> _enrollments = new(StringComparer.Ordinal);
    private readonly ScenarioConnections _connections = new();
    private readonly StepLog _log;
    private readonly string? _sqlite;
    private readonly string? _postgres;
    private ControlPlane? _plane;

    private ClusterScenario(TopologyModel topology, Dictionary<string, EchoServer> destinations, Dictionary<string, ClusterNode> nodes, List<string> names,
        FaultPlan faults, StepLog log, string? sqlite, string? postgres)
    {
        _postgres = postgres;
        Topology = topology;
        _destinations = destinations;
        _nodes = nodes;
        _names = names;
        Faults = faults;
        _log = log;
        _sqlite = sqlite;
    }

    public TopologyModel Topology { get; }

    public FaultPlan Faults { get; }

    /// <summary>The nodes still running, by name (node1 .. nodeN).</summary>
    public IReadOnlyDictionary<string, ClusterNode> Nodes => _nodes.Where(n => !_killed.Contains(n.Key)).ToDictionary(n => n.Key, n => n.Value, StringComparer.Ordinal);

    /// <summary>node1: the seed; it runs the proxies and the client listeners and is never killed by the harness's own placement.</summary>
    public ClusterNode Entry => _nodes[_names[0]];

    /// <summary>Every patent step reached so far on any node, in order.</summary>
    public IReadOnlyList<HandOffStepReached> Steps => _log.Steps();

    /// <summary>Starts <paramref name="nodes"/> nodes carrying the system of <paramref name="topologyText"/>; returns once every node is Up and every auth server answers.</summary>
    public static async Task<ClusterScenario> StartAsync(string topologyText, int nodes = 3, ClusterScenarioOptions? options = null)
    {
        if (nodes < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(nodes), "a cluster scenario needs at least 2 nodes (3 to survive a crash: keep-majority)");
        }

        options ??= new ClusterScenarioOptions();
        var (topology, destinations) = ScenarioTopology.WithEchoDestinations(topologyText, "cluster scenario topology");
        var sqlite = options.Postgres is null ? Path.Combine(Path.GetTempPath(), $"actorvpn-scenario-{Guid.NewGuid():N}.db") : null;
        var store = options.Postgres is not null
            ? $"actorvpn.persistence {{ connection-string = \"{options.Postgres}\", key-secret = \"scenario\" }}"
            : SqliteStore(sqlite!);
        var names = Enumerable.Range(1, nodes).Select(i => $"node{i}").ToList();
        var roots = topology.Roots.Select(r => r.Name).ToList();
        var faults = new FaultPlan();
        var log = new StepLog();
        var started = new Dictionary<string, ClusterNode>(StringComparer.Ordinal);
        var scenario = new ClusterScenario(topology, destinations, started, names, faults, log, sqlite, options.Postgres);
        try
        {
            string? seed = null;
            for (var i = 0; i < nodes; i++)
            {
                var groups = roots.Where((_, k) => k % nodes == i || (k + 1) % nodes == i).ToList();
                var proxies = i == 0 ? topology.Proxies.Select(p => p.Name).ToList() : [];
                var overrides = ConfigurationFactory.ParseString($$"""
                    akka.cluster.seed-nodes = [{{(seed is null ? string.Empty : $"\"{seed}\"")}}]
                    actorvpn.node { groups = [{{string.Join(", ", groups)}}], proxies = [{{string.Join(", ", proxies)}}] }
                    {{options.Config}}
                    {{store}}
                    {{Tuning}}
                    """);
                var node = await ClusterNode.StartAsync(ClusterNode.LoadConfig(overrides: overrides, environment: _ => null), topology, _ => null);
                started[names[i]] = node;
                log.Attach(node.System);
                HandOffFaults.Install(node.System, faults);
                if (seed is null)
                {
                    node.Cluster.Join(node.Cluster.SelfAddress);
                    seed = node.Cluster.SelfAddress.ToString();
                }

                // Each group's first node writes the store's tables before the next one starts (no racing auto-initialize).
                foreach (var group in groups.Where(g => roots.IndexOf(g) % nodes == i))
                {
                    await node.Routes[group].Ask<AuthServerIdentity>(GetIdentity.Instance, VpnScenario.DefaultDeadline * 3);
                }
            }

            await scenario.EventuallyAsync(() => scenario.Entry.Cluster.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) == nodes,
                "the cluster did not form");
            // The nodes' own credential keeper distributes the inter-server credentials, as in `avpn node`: the harness only waits for it.
            var plane = ControlPlane.Over(scenario.Entry.System, topology, name => scenario.Entry.Routes[name], VpnScenario.DefaultDeadline);
            if (!await TryEventuallyAsync(async () => await plane.MissingCredentialsAsync() == 0, null))
            {
                throw new TimeoutException("the inter-server credentials were not distributed");
            }

            scenario._plane = plane;
            foreach (var proxy in topology.Proxies)
            {
                await scenario.Entry.ProxyAddressAsync(proxy.Name, VpnScenario.DefaultDeadline * 3);
            }

            return scenario;
        }
        catch
        {
            await scenario.DisposeAsync();
            throw;
        }
    }

    /// <summary>The patent's example system on <paramref name="nodes"/> nodes: as1 on node1 (fail-over node2), as4's group on node2 (fail-over node3).</summary>
    public static Task<ClusterScenario> StartExampleAsync(int nodes = 3, ClusterScenarioOptions? options = null) => StartAsync(ExampleTopology.Text, nodes, options);

    /// <summary>The node running <paramref name="authServer"/> now (its group's singleton), by name.</summary>
    public async Task<string> NodeOfAsync(string authServer)
    {
        var path = GroupPlacement.PathOf(Topology, authServer);
        foreach (var (name, node) in Nodes)
        {
            var identity = await node.System.ActorSelection(path).Ask<ActorIdentity>(new Identify(authServer), VpnScenario.DefaultDeadline);
            if (identity.Subject is not null)
            {
                return name;
            }
        }

        throw new InvalidOperationException($"{authServer} is not running on any node");
    }

    /// <summary>Registers <paramref name="user"/> at its home server (wherever it runs) and returns its profile.</summary>
    public async Task<ClientProfile> EnrollAsync(string user, string? home = null)
    {
        home ??= Topology.Users.FirstOrDefault(u => u.Name == user)?.AuthServer
            ?? throw new ArgumentException($"'{user}' is not in the topology: name its home server");
        var enrollment = await _plane!.RegisterUserAsync(user, home, "scenario");
        _enrollments[user] = enrollment;
        return await ProfileForAsync(enrollment);
    }

    /// <summary>Opens one application connection through the chain (a client listener on node1).</summary>
    public Task<ScenarioSession> ConnectAsync(string user, string destination = "server")
    {
        var enrollment = _enrollments.GetValueOrDefault(user) ?? throw new InvalidOperationException($"enrol '{user}' first");
        return _connections.OpenAsync(user, destination, async () => await VpnNode.StartClientAsync(Entry.System, await ProfileForAsync(enrollment), destination,
            new IPEndPoint(IPAddress.Loopback, 0), DataPlaneSettings.FromConfig(Entry.System.Settings.Config)));
    }

    /// <summary>Waits until <paramref name="server"/> reaches <paramref name="step"/> (on whichever node it runs).</summary>
    public async Task<HandOffStepReached> AwaitStepAsync(string server, PatentStep step, TimeSpan? within = null)
    {
        HandOffStepReached? reached = null;
        await EventuallyAsync(() => (reached = _log.Steps().FirstOrDefault(s => s.AuthServer == server && s.Step == step)) is not null,
            $"{server} never reached {step.Cite()}", within);
        return reached!;
    }

    private async Task<ClientProfile> ProfileForAsync(UserEnrollment enrollment)
    {
        var entries = new Dictionary<string, EntryProxy>(StringComparer.Ordinal);
        foreach (var (destination, proxy) in Topology.AuthServer(enrollment.HomeServer).Relays)
        {
            entries[destination] = new EntryProxy(proxy, await Entry.ProxyAddressAsync(proxy, VpnScenario.DefaultDeadline), Topology.Destinations[destination].ToString());
        }

        return ClientProfiles.Of(enrollment, entries);
    }

    private static string SqliteStore(string file) => $$"""
        akka.persistence.journal { plugin = "akka.persistence.journal.sql", sql {
          class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
          connection-string = "Data Source={{file}};Default Timeout=30", provider-name = "SQLite.MS", auto-initialize = on } }
        akka.persistence.snapshot-store { plugin = "akka.persistence.snapshot-store.sql", sql {
          class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
          connection-string = "Data Source={{file}};Default Timeout=30", provider-name = "SQLite.MS", auto-initialize = on } }
        """;

    public async ValueTask DisposeAsync()
    {
        await _connections.DisposeAsync();

        foreach (var name in _names.AsEnumerable().Reverse().Where(n => _nodes.ContainsKey(n) && !_killed.Contains(n)))
        {
            await _nodes[name].DisposeAsync(); // one after another (toolchain.md)
        }

        foreach (var echo in _destinations.Values)
        {
            await echo.DisposeAsync();
        }

        if (_sqlite is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(_sqlite);
        }
    }
}
