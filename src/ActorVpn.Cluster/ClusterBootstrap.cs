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
    /// On a node with a profiles directory, the registrar of the topology's users whose entry proxy runs here.
    /// </summary>
    public static void Start(ActorSystem system, TopologyModel topology, IReadOnlyDictionary<string, IActorRef> routes, NodeOptions options, string? profilesDirectory)
    {
        if (options.Groups.Count > 0)
        {
            var settings = ClusterSingletonManagerSettings.Create(system).WithRole(ClusterRoles.Auth).WithSingletonName("keeper");
            system.ActorOf(ClusterSingletonManager.Props(Props.Create(() => new CredentialKeeper(topology, routes, options.BootstrapInterval)), PoisonPill.Instance, settings),
                CredentialKeeperName);
        }

        var users = topology.Users.Where(u => EntryProxyOf(topology, u.AuthServer) is { } entry && options.Proxies.Contains(entry, StringComparer.Ordinal)).ToList();
        if (profilesDirectory is not null && users.Count > 0)
        {
            system.ActorOf(Props.Create(() => new TopologyUsers(topology, routes, options, users, profilesDirectory)), TopologyUsersName);
        }
    }

    /// <summary>The node hosting this proxy registers the server's topology users and writes their profiles: the first entry proxy by destination.</summary>
    private static string? EntryProxyOf(TopologyModel topology, string homeServer) =>
        topology.AuthServer(homeServer).Relays.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value).FirstOrDefault();

    /// <summary>
    /// A client profile for <paramref name="enrollment"/>: its certificate, key, trust anchor and entry
    /// proxies, at the address each one of <paramref name="localProxies"/> listens on (asked of it),
    /// else at the proxy's topology address.
    /// </summary>
    public static async Task<ClientProfile> ProfileForAsync(ActorSystem system, TopologyModel topology, IReadOnlyCollection<string> localProxies, UserEnrollment enrollment)
    {
        var entries = new Dictionary<string, EntryProxy>(StringComparer.Ordinal);
        foreach (var (destination, proxy) in topology.AuthServer(enrollment.HomeServer).Relays)
        {
            var address = localProxies.Contains(proxy)
                ? (await system.ActorSelection($"/user/proxies/{proxy}").Ask<Proxies.ProxyProtocol.ProxyListening>(Proxies.ProxyProtocol.AwaitListening.Instance, TimeSpan.FromSeconds(10))).Address
                : topology.Proxy(proxy).Listen.ToString();
            entries[destination] = new EntryProxy(proxy, address, topology.Destinations[destination].ToString());
        }

        using var certificate = CertificateText.FromDer(enrollment.CertificateDer);
        using var anchor = CertificateText.FromDer(enrollment.TrustAnchorDer);
        return new ClientProfile(enrollment.User, enrollment.HomeServer, CertificateText.ToPem(certificate),
            CertificateText.PrivateKeyToPem(enrollment.PrivateKeyPkcs8), CertificateText.ToPem(anchor), entries, ClientProfile.NextAnchorPem(enrollment.NextTrustAnchorDer));
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

    /// <summary>The topology's users of this node's entry proxies: registered once (as <c>avpn up</c> does), each profile written to the profiles directory.</summary>
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
                    var profile = await ProfileForAsync(system, topology, options.Proxies, await plane.RegisterUserAsync(user.Name, user.AuthServer));
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
