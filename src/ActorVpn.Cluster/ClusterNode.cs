using System.Text;
using ActorVpn.AuthServers;
using ActorVpn.AuthServers.HandOff;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Hosting;
using ActorVpn.Hosting.Audit;
using ActorVpn.Proxies;
using ActorVpn.Topology;
using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ActorVpn.Cluster;

/// <summary>
/// One node of a multi-node ActorVpn (<c>avpn node --config F</c>): an Akka.Cluster member with roles,
/// hosting the auth-server groups (as failover-able singletons, see <see cref="GroupPlacement"/>) and
/// the proxies its configuration names, with health endpoints and a graceful leave on shutdown.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    public const string SystemName = "actorvpn";

    /// <summary>
    /// The HOCON layers of a cluster node, lowest precedence first (under an operator file and the
    /// environment): the console's layer too, so <c>avpn node</c>, the test harness and every test
    /// node read one configuration.
    /// </summary>
    public static readonly IReadOnlyList<string> Layers = [HoconLayers.PersistenceInMemory, "cluster", "remote", ConsoleLayer];

    private const string ConsoleLayer = "console";

    private readonly WebApplication? _health;

    private ClusterNode(ActorSystem system, TopologyModel topology, NodeOptions options, IReadOnlyDictionary<string, IActorRef> routes, IActorRef proxies, WebApplication? health,
        StoreProbe store)
    {
        Store = store;
        System = system;
        Topology = topology;
        Options = options;
        Routes = routes;
        Proxies = proxies;
        _health = health;
    }

    public ActorSystem System { get; }

    public TopologyModel Topology { get; }

    public NodeOptions Options { get; }

    /// <summary>The way to every auth server of the topology from this node, by name.</summary>
    public IReadOnlyDictionary<string, IActorRef> Routes { get; }

    /// <summary>The parent of this node's proxies (<c>/user/proxies</c>).</summary>
    public IActorRef Proxies { get; }

    public Akka.Cluster.Cluster Cluster => Akka.Cluster.Cluster.Get(System);

    /// <summary>Asks the durable store whether it answers (part of readiness).</summary>
    public StoreProbe Store { get; }

    /// <summary>The base URL of the health endpoints, or null when they are off.</summary>
    public string? HealthUrl => _health?.Urls.FirstOrDefault();

    /// <summary>The layers for a durable store: <c>persistence.postgres</c> or <c>persistence.sqlite</c> in place of the in-memory journal.</summary>
    public static IReadOnlyList<string> LayersFor(string store) => [DurableStore.LayerFor(store), "cluster", "remote", ConsoleLayer];

    /// <summary>
    /// Loads a node's configuration: the embedded layers, the operator's file, the environment, then
    /// <paramref name="overrides"/>. The store is <c>actorvpn.persistence.store</c>; a PostgreSQL
    /// connection string (<c>AVPN_POSTGRES</c>) with no store named selects <c>postgres</c>, so every
    /// node of a cluster shares one journal and a group that fails over recovers its state from it.
    /// </summary>
    public static Config LoadConfig(string? operatorFile = null, Config? overrides = null, Func<string, string?>? environment = null)
    {
        var config = HoconLayers.Load(Layers, operatorFile, overrides, environment);
        var store = DurableStore.StoreOf(config);
        if (store == DurableStore.Memory && config.GetString("actorvpn.persistence.connection-string", string.Empty).Length > 0)
        {
            store = DurableStore.Postgres;
            overrides = ConfigurationFactory.ParseString($"actorvpn.persistence.store = {store}").WithFallback(overrides ?? Config.Empty);
        }

        return store == DurableStore.Memory ? config : HoconLayers.Load(LayersFor(store), operatorFile, overrides, environment);
    }

    /// <summary>
    /// Adds what is derived, not configured: the node's roles from its groups and proxies, the seed
    /// nodes from the StatefulSet (when none are set) and the public hostname from POD_NAME.
    /// </summary>
    public static Config Derive(Config config, NodeOptions options, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var text = new StringBuilder();
        var roles = options.Roles(config.GetStringList("akka.cluster.roles"));
        text.Append("akka.cluster.roles = [").Append(string.Join(", ", roles.Select(r => $"\"{r}\""))).Append("]\n");
        if (config.GetStringList("akka.cluster.seed-nodes").Count == 0)
        {
            // Over TLS the remote transport answers only akka.ssl.tcp addresses: seeds named akka.tcp:// would never be joined.
            var protocol = config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl") ? "akka.ssl.tcp" : "akka.tcp";
            var seeds = options.DerivedSeeds(SystemName, config.GetInt("akka.remote.dot-netty.tcp.port"), protocol);
            text.Append("akka.cluster.seed-nodes = [").Append(string.Join(", ", seeds.Select(s => $"\"{s}\""))).Append("]\n");
        }

        if (string.IsNullOrEmpty(config.GetString("akka.remote.dot-netty.tcp.public-hostname")) && options.PublicHostname(environment("POD_NAME")) is { } hostname)
        {
            text.Append("akka.remote.dot-netty.tcp.public-hostname = \"").Append(hostname).Append("\"\n");
        }

        return ConfigurationFactory.ParseString(text.ToString()).WithFallback(config);
    }

    /// <param name="dataDirectory">
    /// Where a node keeps its files (<c>avpn node --data DIR</c>): the SQLite journal of a single-node
    /// cluster, the key secret when none is configured, and the client profiles of the topology's
    /// users this node registers (<c>DIR/profiles</c>). Null: none of these.
    /// </param>
    public static async Task<ClusterNode> StartAsync(Config config, TopologyModel? topology = null,
        Func<string, string?>? environment = null, string? dataDirectory = null)
    {
        var options = NodeOptions.FromConfig(config);
        topology ??= ExampleTopology.LoadOrDefault(options.TopologyFile.Length > 0 ? options.TopologyFile : null);
        options.Validate(topology);
        config = Derive(config, options, environment);

        // The durable store every node shares (PostgreSQL in a cluster) and the secret its signing keys are journalled under.
        config = DurableStore.Complete(config, dataDirectory);
        // Nodes sharing PostgreSQL must share one key secret (AVPN_KEY_SECRET): a file of each node's own would lock the others out of the keys.
        var keyDirectory = DurableStore.StoreOf(config) == DurableStore.Postgres ? null : dataDirectory;
        // Signing keys live with the groups: a node that hosts none (a proxy pod, facing the internet) holds no key and is not given the secret.
        var authServers = AuthServerSettings.FromConfig(config) with
        {
            KeyProtection = options.Groups.Count == 0 ? null : DurableStore.KeyProtectionFor(config, keyDirectory),
        };
        var store = StoreProbe.FromConfig(config);
        await AwaitStoreAsync(store, options.StoreWait);
        var advertise = options.AdvertisedHost(config.GetString("akka.remote.dot-netty.tcp.public-hostname", string.Empty));

        RemoteTls.RequireOnNetwork(config); // no plaintext Akka.Remote beyond loopback
        var system = ActorSystem.Create(SystemName, RemoteTls.SystemSetup(config)); // Akka.Remote over CA-verified mutual TLS when enable-ssl is on
        try
        {
            // The audit trail, journalled per node: nodes share one store, so each writes under its own address.
            var audit = AuditSettings.FromConfig(config);
            var self = ((ExtendedActorSystem)system).Provider.DefaultAddress;
            system.ActorOf(AuditLog.Props(audit with { PersistenceId = $"{audit.PersistenceId}-{self.Host}-{self.Port}" }), AuditLog.Name);
            system.ActorOf(StoreFailureAnswerer.Props(), StoreFailureAnswerer.Name); // requests caught in a failing group get a prompt answer
            system.ActorOf(RevocationRelay.Props(), RevocationRelay.Name); // before any group: no revocation goes unannounced
            // Administrative messages only from this node or from members whose roles may send them.
            authServers = authServers with { Admission = AdminSenders.For(system, AdminSenders.FromConfig(config)) };
            var routes = GroupPlacement.Start(system, topology, authServers, options.Groups.ToHashSet(StringComparer.Ordinal));
            var settings = DataPlaneSettings.FromConfig(config);
            var specs = options.Proxies.Select(topology.Proxy).ToList();
            var proxies = system.ActorOf(Props.Create(() => new NodeProxies(specs, routes, settings, advertise)), "proxies");
            AddDrainTask(system, specs, options.DrainPeriod);
            ClusterBootstrap.Start(system, topology, routes, options, dataDirectory is null ? null : Path.Combine(Path.GetFullPath(dataDirectory), "profiles"));
            var health = options.HealthPort > 0 ? await StartHealthAsync(system, options, store) : null;
            return new ClusterNode(system, topology, options, routes, proxies, health, store);
        }
        catch
        {
            await system.Terminate();
            throw;
        }
    }

    /// <summary>
    /// A node whose store does not answer within <paramref name="wait"/> of starting cannot recover
    /// any group's state: it stops with <see cref="StoreUnrecoverableException"/> (its own exit code)
    /// rather than join the cluster and fail every request.
    /// </summary>
    private static async Task AwaitStoreAsync(StoreProbe store, TimeSpan wait)
    {
        if (wait <= TimeSpan.Zero)
        {
            return; // 0s: start without the store; /healthz/ready says 503 until it answers
        }

        var until = DateTime.UtcNow + wait;
        while (!await store.AnswersAsync(TimeSpan.FromSeconds(2)))
        {
            if (DateTime.UtcNow >= until)
            {
                throw new StoreUnrecoverableException($"the {store.Store} store did not answer within {wait.TotalSeconds:0.#} s of starting (actorvpn.node.store-wait); check AVPN_POSTGRES and that the database runs");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500)); // start-up polling of an outside service, not a test wait
        }
    }

    /// <summary>
    /// Where one of this node's proxies listens, once it has its identity (its auth server may be
    /// starting on another node); <see cref="ProxyNotListeningException"/>, naming the proxy and why
    /// it has no identity, if it is not listening within <paramref name="timeout"/>.
    /// </summary>
    public Task<string> ProxyAddressAsync(string proxy, TimeSpan timeout) =>
        // Through the proxies' parent, not an actor selection of /user/proxies/<name>: the parent creates
        // its proxies asynchronously, and a node that is Up at once (a busy machine, a single seed) asks
        // before they exist; a selection then delivers to dead letters and the wait hangs for its timeout.
        ProxyReadiness.AwaitListeningAsync(Proxies, proxy, timeout, envelope: message => new ToProxy(proxy, message));

    /// <summary>Ready: this node is an Up member of the cluster and the durable store answers (<c>/healthz/ready</c>).</summary>
    public Task<bool> IsReadyAsync() => IsReadyAsync(System, Store);

    private static async Task<bool> IsReadyAsync(ActorSystem system, StoreProbe store) =>
        !system.WhenTerminated.IsCompleted
        && Akka.Cluster.Cluster.Get(system).SelfMember.Status == Akka.Cluster.MemberStatus.Up
        && await store.AnswersAsync(TimeSpan.FromSeconds(2));

    /// <summary>Leaves the cluster gracefully (coordinated shutdown: drain, leave, hand the singletons over), then stops.</summary>
    public async Task LeaveAsync()
    {
        await Akka.Actor.CoordinatedShutdown.Get(System).Run(Akka.Actor.CoordinatedShutdown.ClrExitReason.Instance);
        await System.WhenTerminated;
    }

    public async ValueTask DisposeAsync()
    {
        if (_health is not null)
        {
            await _health.StopAsync();
            await _health.DisposeAsync();
        }

        await System.Terminate();
    }

    /// <summary>
    /// SIGTERM: before the node leaves, proxy sessions may finish for up to the drain period;
    /// whatever is still open then is closed when the proxies stop (【0053】).
    /// </summary>
    private static void AddDrainTask(ActorSystem system, IReadOnlyList<ProxySpec> proxies, TimeSpan drainPeriod)
    {
        if (proxies.Count == 0)
        {
            return;
        }

        Akka.Actor.CoordinatedShutdown.Get(system).AddTask(Akka.Actor.CoordinatedShutdown.PhaseServiceRequestsDone, "drain-proxy-sessions", async () =>
        {
            var until = DateTime.UtcNow + drainPeriod;
            while (DateTime.UtcNow < until)
            {
                var open = 0;
                foreach (var proxy in proxies)
                {
                    try
                    {
                        var status = await system.ActorSelection($"/user/proxies/{proxy.Name}")
                            .Ask<ProxyProtocol.ProxyStatus>(ProxyProtocol.GetProxyStatus.Instance, TimeSpan.FromSeconds(1));
                        open += status.Sessions.Count;
                    }
                    catch (AskTimeoutException)
                    {
                        // not listening (yet): nothing to drain
                    }
                }

                if (open == 0)
                {
                    break;
                }

                system.Log.Info("draining: {0} proxy session(s) still open", open);
                await Task.Delay(TimeSpan.FromMilliseconds(500)); // shutdown polling, not a test wait
            }

            return Done.Instance;
        });
    }

    /// <summary>
    /// /healthz/live: the ActorSystem runs. /healthz/ready: this node is an Up member of the cluster
    /// and the durable store answers (<see cref="StoreProbe"/>). /metrics: <see cref="MetricsEndpoint"/>.
    /// </summary>
    private static async Task<WebApplication> StartHealthAsync(ActorSystem system, NodeOptions options, StoreProbe store)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{options.HealthHostname}:{options.HealthPort}");
        var app = builder.Build();
        app.MapGet(HealthPaths.Live, () => system.WhenTerminated.IsCompleted ? Results.StatusCode(503) : Results.Text("live"));
        app.MapGet(HealthPaths.Ready, async () => await IsReadyAsync(system, store) ? Results.Text("ready") : Results.StatusCode(503));
        MetricsEndpoint.Map(app);
        await app.StartAsync();
        return app;
    }

    /// <summary>The parent of this node's proxies; a proxy whose auth server is not reachable yet is restarted and enrols again.</summary>
    private sealed class NodeProxies : ReceiveActor
    {
        public NodeProxies(IReadOnlyList<ProxySpec> proxies, IReadOnlyDictionary<string, IActorRef> routes, DataPlaneSettings settings, string? advertise)
        {
            foreach (var proxy in proxies)
            {
                Context.ActorOf(ProxyActor.Props(proxy, routes[proxy.AuthServer], settings, advertise), proxy.Name);
            }

            // Handled only once the constructor created every proxy: a message to one of them is never lost to a proxy not yet created.
            Receive<ToProxy>(to => Context.Child(to.Proxy).Forward(to.Message));
            ReceiveAny(_ => { });
        }

        // In a cluster the proxy's auth server may be failing over when it enrols: try again.
        protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, TimeSpan.FromSeconds(1), _ => Directive.Restart);
    }
}

/// <summary>A message for one of a node's proxies, sent through their parent (<see cref="ClusterNode.Proxies"/>).</summary>
internal sealed record ToProxy(string Proxy, object Message);

/// <summary>The health endpoints' paths (k8s/ probes use the same).</summary>
public static class HealthPaths
{
    public const string Live = "/healthz/live";
    public const string Ready = "/healthz/ready";
}
