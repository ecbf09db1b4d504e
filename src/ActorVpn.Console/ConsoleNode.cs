using ActorVpn.Client;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Actor;

namespace ActorVpn.OperatorConsole;

/// <summary>
/// What the console commands need of the node they run on. Each kind of host has its own adapter:
/// <c>SingleProcessConsoleNode</c>, next to <c>avpn up</c>'s single-process host (every auth server and
/// proxy here), and <c>ClusterConsoleNode</c>, next to the cluster node of <c>avpn node</c> (the auth
/// servers reached through the group singletons wherever they run, the proxies found on every member).
/// The console sits below both hosts and knows neither.
/// </summary>
public abstract class ConsoleNode
{
    private const string NoGroups = "auth-server groups are placed on the members of a cluster; this node is not one";

    private readonly SemaphoreSlim _attaching = new(1, 1);
    private ControlPlane? _attached;

    protected ConsoleNode(ActorSystem system, TopologyModel topology, IReadOnlyList<string> proxies, ActorPath proxiesPath)
    {
        System = system;
        Topology = topology;
        Proxies = proxies;
        ProxiesPath = proxiesPath;
    }

    public ActorSystem System { get; }

    public TopologyModel Topology { get; }

    /// <summary>The proxies that run on this node (every proxy of the topology on <c>avpn up</c>).</summary>
    public IReadOnlyList<string> Proxies { get; }

    /// <summary>The parent of this node's proxy actors (<c>/user/proxies</c>).</summary>
    public ActorPath ProxiesPath { get; }

    /// <summary>A running proxy, the node it runs on (its member address) and the way to it.</summary>
    public sealed record ProxyAt(string Proxy, string Node, ICanTell Actor);

    /// <summary>
    /// Every proxy running now, on whichever node: on <c>avpn up</c> all of them here; on a cluster
    /// node those of every reachable member with role <c>proxy</c>. An unreachable member is not
    /// asked (it could not answer before <paramref name="probeTimeout"/>); its proxies are missing.
    /// </summary>
    public abstract Task<IReadOnlyList<ProxyAt>> ProxiesAsync(TimeSpan probeTimeout);

    /// <summary>
    /// Why no client profile can be written for a user of <paramref name="homeServer"/> (an entry proxy
    /// whose address is neither advertised nor known from its enrolment), or null. Asked before the
    /// user is registered, so a refusal leaves nothing behind.
    /// </summary>
    public abstract Task<string?> ProfileProblemAsync(string homeServer);

    /// <summary>A client profile for a fresh enrollment: its certificate, key, trust anchor and entry proxies.</summary>
    public abstract Task<ClientProfile> ProfileForAsync(UserEnrollment enrollment);

    /// <summary>The path of <paramref name="authServer"/>'s actor on the node that runs it (<c>auth list --json</c>).</summary>
    public abstract string AuthServerPath(string authServer);

    /// <summary>On a cluster: the role a member needs to host the auth-server group of <paramref name="root"/>.</summary>
    public virtual string GroupRoleOf(string root) => throw new NotSupportedException(NoGroups);

    /// <summary>On a cluster: where the group of <paramref name="root"/> has its root auth server on <paramref name="member"/>, if it runs there.</summary>
    public virtual ActorPath GroupRootOn(Address member, string root) => throw new NotSupportedException(NoGroups);

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
            return _attached ??= await AttachAsync(timeout);
        }
        finally
        {
            _attaching.Release();
        }
    }

    /// <summary>Reaches the auth servers, once: <see cref="ControlAsync"/> keeps what this returns.</summary>
    protected abstract Task<ControlPlane> AttachAsync(TimeSpan timeout);
}
