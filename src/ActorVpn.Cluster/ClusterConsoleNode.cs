using ActorVpn.Client;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole;
using Akka.Actor;
using Akka.Cluster;

namespace ActorVpn.Cluster;

/// <summary>
/// The console's view of one <c>avpn node</c> of a cluster: the auth servers are reached through the
/// group singletons wherever they run, and the proxies of every member are found where they run.
/// </summary>
public sealed class ClusterConsoleNode(ClusterNode node) : ConsoleNode(node.System, node.Topology, node.Options.Proxies, node.Proxies.Path)
{
    // The cluster's credential keeper distributes the inter-server credentials; the console only asks.
    // Any node can write a profile: the entry addresses come from the advertised ones or from the
    // proxies' auth servers, not from the proxies running here.
    private readonly ControlPlane _plane = ControlPlane.Over(node.System, node.Topology, name => node.Routes[name], TimeSpan.FromSeconds(10));

    public override async Task<ClientProfile> ProfileForAsync(UserEnrollment enrollment) =>
        ClientProfiles.Of(enrollment, await ClusterBootstrap.EntriesAsync(_plane, node.Topology, node.Options, enrollment.HomeServer));

    public override async Task<string?> ProfileProblemAsync(string homeServer)
    {
        try
        {
            await ClusterBootstrap.EntriesAsync(_plane, node.Topology, node.Options, homeServer);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or AskTimeoutException)
        {
            return $"no client profile can be written for a user of {homeServer}: {e.Message}";
        }
    }

    /// <summary>An auth server runs under its group's singleton, on the member that hosts the group.</summary>
    public override string AuthServerPath(string authServer) => GroupPlacement.PathOf(Topology, authServer);

    public override string GroupRoleOf(string root) => GroupPlacement.RoleOf(root);

    public override ActorPath GroupRootOn(Address member, string root) => new RootActorPath(member) / "user" / GroupPlacement.ManagerName(root) / root;

    protected override Task<ControlPlane> AttachAsync(TimeSpan timeout) =>
        Task.FromResult(ControlPlane.Over(node.System, node.Topology, name => node.Routes[name], timeout));

    /// <summary>Asks each reachable proxy member, in parallel, which proxies of the topology it runs (<c>/user/proxies/NAME</c>).</summary>
    public override async Task<IReadOnlyList<ProxyAt>> ProxiesAsync(TimeSpan probeTimeout)
    {
        var state = node.Cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = state.Members
            .Where(m => m.Status is (MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Leaving) && m.HasRole(ClusterRoles.Proxy) && !unreachable.Contains(m.Address))
            .ToList();
        var found = await Task.WhenAll(members.SelectMany(m => node.Topology.Proxies.Select(async p =>
        {
            var path = new RootActorPath(m.Address) / "user" / "proxies" / p.Name;
            try
            {
                var identity = await node.System.ActorSelection(path).Ask<ActorIdentity>(new Identify(p.Name), probeTimeout);
                return identity.Subject is { } actor ? new ProxyAt(p.Name, m.Address.ToString(), actor) : null;
            }
            catch (AskTimeoutException)
            {
                return null;
            }
        })));
        return found.OfType<ProxyAt>().OrderBy(p => p.Proxy, StringComparer.Ordinal).ToList();
    }
}
