using ActorVpn.Client;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Akka.Event;

namespace ActorVpn.Cluster;

/// <summary>
/// What makes a fresh cluster the same system as <c>avpn up</c>, with no console opened: the
/// inter-server credentials are distributed as soon as the groups answer (【0023】), and the
/// topology's users are registered with their profiles written, both checked again every
/// <see cref="NodeOptions.BootstrapInterval"/> so a group that comes back after a failover is
/// completed too (idempotent: what a server already holds is kept).
/// </summary>
public static class ClusterBootstrap
{
    public const string CredentialKeeperName = "credential-keeper";

    public const string TopologyUsersName = "topology-users";

    /// <summary>
    /// On an auth node, the credential keeper: one cluster singleton (role <c>auth</c>), because two
    /// distributors racing could leave a caller holding a credential its callee no longer recognises.
    /// On a node that may host a group and has a profiles directory, the registrar of the topology's
    /// users whose home server is in that group: one singleton per group, on the group's own role, so
    /// it runs where the group runs (both go to the oldest node with the role). Registering is an
    /// administrative message the auth servers accept only from nodes whose roles allow it
    /// (<see cref="AdminSenders"/>); a group's node always may, whereas a proxy node, which faces the
    /// internet, may not.
    /// </summary>
    public static void Start(ActorSystem system, TopologyModel topology, IReadOnlyDictionary<string, IActorRef> routes, NodeOptions options, string? profilesDirectory)
    {
        if (options.Groups.Count > 0)
        {
            var settings = ClusterSingletonManagerSettings.Create(system).WithRole(ClusterRoles.Auth).WithSingletonName("keeper");
            system.ActorOf(ClusterSingletonManager.Props(Props.Create(() => new CredentialKeeper(topology, routes, options.BootstrapInterval)), PoisonPill.Instance, settings),
                CredentialKeeperName);
        }

        if (profilesDirectory is null)
        {
            return;
        }

        foreach (var group in options.Groups)
        {
            var users = topology.Users.Where(u => topology.LineageOf(u.AuthServer)[0] == group).ToList();
            if (users.Count > 0)
            {
                var settings = ClusterSingletonManagerSettings.Create(system).WithRole(GroupPlacement.RoleOf(group)).WithSingletonName("registrar");
                system.ActorOf(ClusterSingletonManager.Props(Props.Create(() => new TopologyUsers(topology, routes, options, users, profilesDirectory)), PoisonPill.Instance, settings),
                    $"{TopologyUsersName}-{group}");
            }
        }
    }

    /// <summary>
    /// The entry proxies of <paramref name="homeServer"/>'s users (Fig. 1: the client's first hop), one
    /// per destination, each at the address a client dials: the external address the operator
    /// advertises for it (<see cref="NodeOptions.ProxyAdvertise"/>: a Service's LoadBalancer or NodePort
    /// address, which no pod sees for itself), else the address the proxy enrolled with at its auth
    /// server, wherever it runs. Fails while a proxy without an advertised address has not enrolled:
    /// a profile naming an address nobody vouched for would not connect.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, EntryProxy>> EntriesAsync(ControlPlane plane, TopologyModel topology, NodeOptions options, string homeServer)
    {
        var entries = new Dictionary<string, EntryProxy>(StringComparer.Ordinal);
        foreach (var (destination, proxy) in topology.AuthServer(homeServer).Relays)
        {
            var address = options.ProxyAdvertise.TryGetValue(proxy, out var external) ? external : await plane.EnrolledAddressAsync(proxy);
            entries[destination] = new EntryProxy(proxy, address, topology.Destinations[destination].ToString());
        }

        return entries;
    }

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record Finished(int Pending, Exception? Failure);

    /// <summary>【0023】 in a cluster: every trusting server issues its credential in advance, and again whenever a holder lacks it.</summary>
    private sealed class CredentialKeeper : ReceiveActor, IWithTimers
    {
        private readonly ILoggingAdapter _log = Context.GetLogger();
        private bool _announced;

        public CredentialKeeper(TopologyModel topology, IReadOnlyDictionary<string, IActorRef> routes, TimeSpan interval)
        {
            var system = Context.System;
            Receive<Tick>(_ => ControlPlane.AttachAsync(system, topology, name => routes[name], AskTimeout(interval))
                .PipeTo(Self, success: _ => new Finished(0, null), failure: e => new Finished(1, e)));
            Receive<Finished>(finished =>
            {
                if (finished.Failure is null && !_announced)
                {
                    _announced = true;
                    _log.Info("inter-server credentials distributed to every trusted auth server");
                }
                else if (finished.Failure is not null)
                {
                    _log.Debug("inter-server credentials not complete yet: {0}", finished.Failure.Message); // a group still starting or failing over
                }

                Timers.StartSingleTimer(nameof(Tick), Tick.Instance, finished.Failure is null ? interval : Shorter(interval));
            });
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart() => Self.Tell(Tick.Instance);
    }

    /// <summary>The topology's users of one group: registered once (as <c>avpn up</c> does), each profile written to the profiles directory.</summary>
    private sealed class TopologyUsers : ReceiveActor, IWithTimers
    {
        private readonly ILoggingAdapter _log = Context.GetLogger();

        public TopologyUsers(TopologyModel topology, IReadOnlyDictionary<string, IActorRef> routes, NodeOptions options, IReadOnlyList<UserSpec> users, string directory)
        {
            var system = Context.System;
            var pending = users.ToList();
            Receive<Tick>(_ => RegisterAsync(system, topology, routes, options, pending, directory)
                .PipeTo(Self, success: left => new Finished(left, null), failure: e => new Finished(pending.Count, e)));
            Receive<Finished>(finished =>
            {
                if (finished.Failure is not null)
                {
                    _log.Debug("topology users not registered yet: {0}", finished.Failure.Message);
                }

                if (finished.Pending > 0)
                {
                    Timers.StartSingleTimer(nameof(Tick), Tick.Instance, Shorter(options.BootstrapInterval));
                }
            });
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart() => Self.Tell(Tick.Instance);

        /// <summary>A user the store already knows keeps its certificate (and its profile stays valid); a revoked one stays revoked.</summary>
        private async Task<int> RegisterAsync(ActorSystem system, TopologyModel topology, IReadOnlyDictionary<string, IActorRef> routes, NodeOptions options,
            List<UserSpec> pending, string directory)
        {
            var plane = ControlPlane.Over(system, topology, name => routes[name], AskTimeout(options.BootstrapInterval));
            foreach (var user in pending.ToList())
            {
                if (await plane.FindUserAsync(user.Name, user.AuthServer) is null)
                {
                    // The entry addresses first: a user registered before they are known would be left without a profile.
                    var entries = await EntriesAsync(plane, topology, options, user.AuthServer);
                    var profile = ClientProfiles.Of(await plane.RegisterUserAsync(user.Name, user.AuthServer), entries);
                    Directory.CreateDirectory(directory);
                    profile.Save(Path.Combine(directory, $"{user.Name}.avpn"));
                    _log.Info("user {0} registered at {1}; profile in {2}", user.Name, user.AuthServer, Path.Combine(directory, $"{user.Name}.avpn"));
                }

                pending.Remove(user);
            }

            return pending.Count;
        }
    }

    // A busy node answers slowly: an ask shorter than this would fail every round, however often it runs.
    private static TimeSpan AskTimeout(TimeSpan interval) => interval * 2 > TimeSpan.FromSeconds(10) ? interval * 2 : TimeSpan.FromSeconds(10);

    private static TimeSpan Shorter(TimeSpan interval) => interval < TimeSpan.FromSeconds(1) ? interval : TimeSpan.FromSeconds(1);
}

/// <summary>The store did not answer a starting node: it cannot recover any group's state (its own exit code, docs/cluster-node.md).</summary>
public sealed class StoreUnrecoverableException(string message) : Exception(message);
