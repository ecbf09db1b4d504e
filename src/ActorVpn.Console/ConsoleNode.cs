using ActorVpn.Client;
using ActorVpn.Cluster;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Cluster;

namespace ActorVpn.OperatorConsole;

/// <summary>
/// What the console commands need of the node they run on, whichever kind it is: <c>avpn up</c>'s
/// single process (<see cref="VpnNode"/>: every auth server and proxy here) or one <c>avpn node</c>
/// of a cluster (<see cref="ClusterNode"/>: the auth servers are reached through the group
/// singletons wherever they run, and the proxies of every member are found where they run).
/// </summary>
public sealed class ConsoleNode
{
    private readonly Func<TimeSpan, Task<ControlPlane>> _control;
    private readonly Func<UserEnrollment, Task<ClientProfile>> _profileFor;
    private readonly Func<TimeSpan, Task<IReadOnlyList<ProxyAt>>> _locate;
    private readonly SemaphoreSlim _attaching = new(1, 1);
    private readonly Func<string, Task<string?>> _profileProblem;
    private ControlPlane? _attached;

    private ConsoleNode(ActorSystem system, TopologyModel topology, IReadOnlyList<string> proxies, ActorPath proxiesPath,
        Func<TimeSpan, Task<ControlPlane>> control, Func<UserEnrollment, Task<ClientProfile>> profileFor, Func<TimeSpan, Task<IReadOnlyList<ProxyAt>>> locate,
        Func<string, Task<string?>> profileProblem)
    {
        _locate = locate;
        _profileProblem = profileProblem;
        System = system;
        Topology = topology;
        Proxies = proxies;
        ProxiesPath = proxiesPath;
        _control = control;
        _profileFor = profileFor;
    }

    public ActorSystem System { get; }

    public TopologyModel Topology { get; }

    /// <summary>The proxies that run on this node (every proxy of the topology on <c>avpn up</c>).</summary>
    public IReadOnlyList<string> Proxies { get; }

    /// <summary>The parent of this node's proxy actors (<c>/user/proxies</c>).</summary>
    public ActorPath ProxiesPath { get; }

    /// <summary>A running proxy, the node it runs on (its member address) and the way to it.</summary>
    public sealed record ProxyAt(string Proxy, string Node, ICanTell Actor);

    public static ConsoleNode Of(VpnNode node)
    {
        var self = ((ExtendedActorSystem)node.System).Provider.DefaultAddress.ToString();
        IReadOnlyList<ProxyAt> here = node.Topology.Proxies.Select(p => new ProxyAt(p.Name, self, node.System.ActorSelection(node.Proxies.Path / p.Name))).ToList();
        return new(node.System, node.Topology, node.Topology.Proxies.Select(p => p.Name).ToList(), node.Proxies.Path,
            _ => Task.FromResult(node.Control), enrollment => Task.FromResult(node.ProfileFor(enrollment)), _ => Task.FromResult(here),
            _ => Task.FromResult<string?>(null));
    }

    public static ConsoleNode Of(ClusterNode node)
    {
        // The cluster's credential keeper distributes the inter-server credentials; the console only asks.
        // Any node can write a profile: the entry addresses come from the advertised ones or from the
        // proxies' auth servers, not from the proxies running here.
        var plane = ControlPlane.Over(node.System, node.Topology, name => node.Routes[name], TimeSpan.FromSeconds(10));
        return new ConsoleNode(node.System, node.Topology, node.Options.Proxies, node.Proxies.Path,
            timeout => Task.FromResult(ControlPlane.Over(node.System, node.Topology, name => node.Routes[name], timeout)),
            async enrollment => VpnNode.ProfileOf(enrollment, await ClusterBootstrap.EntriesAsync(plane, node.Topology, node.Options, enrollment.HomeServer)),
            probe => ClusterProxiesAsync(node, probe),
            async home =>
            {
                try
                {
                    await ClusterBootstrap.EntriesAsync(plane, node.Topology, node.Options, home);
                    return null;
                }
                catch (Exception e) when (e is InvalidOperationException or AskTimeoutException)
                {
                    return $"no client profile can be written for a user of {home}: {e.Message}";
                }
            });
    }

    /// <summary>
    /// Every proxy running now, on whichever node: on <c>avpn up</c> all of them here; on a cluster
    /// node those of every reachable member with role <c>proxy</c>. An unreachable member is not
    /// asked (it could not answer before <paramref name="probeTimeout"/>); its proxies are missing.
    /// </summary>
    public Task<IReadOnlyList<ProxyAt>> ProxiesAsync(TimeSpan probeTimeout) => _locate(probeTimeout);

    /// <summary>
    /// Why no client profile can be written for a user of <paramref name="homeServer"/> (an entry proxy
    /// whose address is neither advertised nor known from its enrolment), or null. Asked before the
    /// user is registered, so a refusal leaves nothing behind.
    /// </summary>
    public Task<string?> ProfileProblemAsync(string homeServer) => _profileProblem(homeServer);

    /// <summary>The auth-server side: on a cluster node attached on first use (every group must answer by then).</summary>
    public async Task<ControlPlane> ControlAsync(TimeSpan timeout)
    {
        if (_attached is not null)
        {
            return _attached;
        }

        await _attaching.WaitAsync();
        try
        {
            return _attached ??= await _control(timeout);
        }
        finally
        {
            _attaching.Release();
        }
    }

    /// <summary>A client profile for a fresh enrollment: its certificate, key, trust anchor and entry proxies.</summary>
    public Task<ClientProfile> ProfileForAsync(UserEnrollment enrollment) => _profileFor(enrollment);

    /// <summary>Asks each reachable proxy member, in parallel, which proxies of the topology it runs (<c>/user/proxies/NAME</c>).</summary>
    private static async Task<IReadOnlyList<ProxyAt>> ClusterProxiesAsync(ClusterNode node, TimeSpan probeTimeout)
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
