using ActorVpn.AuthServers;
using ActorVpn.AuthServers.HandOff;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Cluster.Tools.Singleton;

namespace ActorVpn.Cluster;

/// <summary>
/// Where the auth servers run in a cluster, and how every node reaches each of them.
/// <para>
/// Each top-level group (a root of the Fig. 4 tree, its members as child actors) is one cluster
/// singleton, managed at <c>/user/group-&lt;root&gt;</c> on the nodes that may host it (those with
/// role <c>group-&lt;root&gt;</c>). The singleton is a small <see cref="GroupHost"/> named after the
/// root, whose one child is the root server, so a member lives at <c>/user/group-as4/as4/as4/as2</c>.
/// The host re-creates the root with back-off when it stops for a store failure (the fail-closed
/// behaviour, which the single-node guardian provides; a bare singleton would stay dead until its
/// node left). A group fails over as a whole: its members' hand-offs, credentials and users move with
/// their upper server, and the journal restores them.
/// </para>
/// <para>
/// Reaching a server: on every node, one <see cref="ClusterSingletonProxy"/> per auth server (root or
/// member), whose singleton name is the server's path below the manager (<c>as4/as4/as2</c>): the
/// proxy identifies <c>&lt;oldest node&gt;/user/group-as4/as4/as4/as2</c>, tracks the group's node
/// across fail-overs and buffers messages while the group moves. These proxies are registered as the
/// <see cref="AuthServerRegistry"/>'s routes, so the auth-server actors' hand-off code (which finds
/// its peers by name) works unchanged across nodes, over Akka.Remote with the ActorVpnSerializer.
/// This needs no envelope message and no change to the root actor: the simplest correct design.
/// </para>
/// </summary>
public static class GroupPlacement
{
    /// <summary>The role of the nodes that may host <paramref name="group"/> (its singleton's role).</summary>
    public static string RoleOf(string group) => $"group-{group}";

    public static string ManagerName(string group) => $"group-{group}";

    public static string RoutePrefix => "route-";

    /// <summary>Where an auth server runs on the node hosting its group, e.g. <c>/user/group-as4/as4/as4/as2</c> for as2 under as4.</summary>
    public static string PathOf(TopologyModel topology, string server)
    {
        var lineage = topology.LineageOf(server);
        return $"/user/{ManagerName(lineage[0])}/{SingletonPathOf(lineage)}";
    }

    private static string SingletonPathOf(IReadOnlyList<string> lineage) => lineage[0] + "/" + string.Join('/', lineage);

    /// <summary>
    /// Starts a singleton manager for every group this node may host, and a route (singleton proxy)
    /// to every auth server of the topology; returns the routes by server name.
    /// </summary>
    public static IReadOnlyDictionary<string, IActorRef> Start(ActorSystem system, TopologyModel topology, AuthServerSettings settings,
        IReadOnlySet<string> hostedGroups)
    {
        foreach (var root in topology.Roots.Where(r => hostedGroups.Contains(r.Name)))
        {
            var managerSettings = ClusterSingletonManagerSettings.Create(system).WithRole(RoleOf(root.Name)).WithSingletonName(root.Name);
            system.ActorOf(ClusterSingletonManager.Props(GroupHost.Props(AuthServerActor.Props(root, topology, settings), root.Name),
                    PoisonPill.Instance, managerSettings),
                ManagerName(root.Name));
        }

        var registry = AuthServerRegistry.For(system);
        var routes = new Dictionary<string, IActorRef>(StringComparer.Ordinal);
        foreach (var server in topology.AuthServers)
        {
            var lineage = topology.LineageOf(server.Name);
            var group = lineage[0];
            var proxySettings = ClusterSingletonProxySettings.Create(system).WithRole(RoleOf(group)).WithSingletonName(SingletonPathOf(lineage));
            var route = system.ActorOf(ClusterSingletonProxy.Props($"/user/{ManagerName(group)}", proxySettings), RoutePrefix + server.Name);
            registry.RegisterRoute(server.Name, route);
            routes[server.Name] = route;
        }

        return routes;
    }
}

/// <summary>
/// The singleton of one group: supervises its root server and re-creates it with back-off
/// (<see cref="StoreRestarts"/>) after the root stopped because the store failed.
/// </summary>
public sealed class GroupHost : ReceiveActor, IWithTimers
{
    private readonly StoreRestarts _restarts = new();

    public GroupHost(Props root, string name)
    {
        Context.ActorOf(root, name);
        Receive<StoreRestarts.RestartAfterStoreFailure>(restart => _restarts.Schedule(Context, Timers, restart.Name));
        Receive<StoreRestarts.RecreateMember>(recreate => _restarts.Recreate(Context, Timers, recreate.Name, () => root));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(Props root, string name) => Akka.Actor.Props.Create(() => new GroupHost(root, name));

    // The root fails closed by stopping (OnPersistFailure); anything else that escapes it restarts it.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Restart);
}
