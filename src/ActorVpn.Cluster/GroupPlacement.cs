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
/// role <c>group-&lt;root&gt;</c>; the singleton actor is the root server itself, named after it, so
/// a member lives at <c>/user/group-as4/as4/as2</c>). A group fails over as a whole: its members'
/// hand-offs, credentials and users move with their upper server, and the journal restores them.
/// </para>
/// <para>
/// Reaching a server: on every node, one <see cref="ClusterSingletonProxy"/> per auth server (root or
/// member), whose singleton name is the server's lineage below the manager (<c>as4/as2</c>): the
/// proxy identifies <c>&lt;oldest node&gt;/user/group-as4/as4/as2</c>, tracks the group's node
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

    /// <summary>
    /// Starts a singleton manager for every group this node may host, and a route (singleton proxy)
    /// to every auth server of the topology; returns the routes by server name.
    /// </summary>
    public static IReadOnlyDictionary<string, IActorRef> Start(ActorSystem system, TopologyModel topology, AuthServerSettings settings,
        IReadOnlySet<string> hostedGroups, IHandOffInterceptor? interceptor = null)
    {
        foreach (var root in topology.Roots.Where(r => hostedGroups.Contains(r.Name)))
        {
            var managerSettings = ClusterSingletonManagerSettings.Create(system).WithRole(RoleOf(root.Name)).WithSingletonName(root.Name);
            system.ActorOf(ClusterSingletonManager.Props(AuthServerActor.Props(root, topology, settings, interceptor), PoisonPill.Instance, managerSettings),
                ManagerName(root.Name));
        }

        var registry = AuthServerRegistry.For(system);
        var routes = new Dictionary<string, IActorRef>(StringComparer.Ordinal);
        foreach (var server in topology.AuthServers)
        {
            var lineage = topology.LineageOf(server.Name);
            var group = lineage[0];
            var proxySettings = ClusterSingletonProxySettings.Create(system).WithRole(RoleOf(group)).WithSingletonName(string.Join('/', lineage));
            var route = system.ActorOf(ClusterSingletonProxy.Props($"/user/{ManagerName(group)}", proxySettings), RoutePrefix + server.Name);
            registry.RegisterRoute(server.Name, route);
            routes[server.Name] = route;
        }

        return routes;
    }
}
