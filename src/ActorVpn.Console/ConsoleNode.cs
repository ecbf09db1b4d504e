using ActorVpn.Client;
using ActorVpn.Cluster;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Actor;

namespace ActorVpn.OperatorConsole;

/// <summary>
/// What the console commands need of the node they run on, whichever kind it is: <c>avpn up</c>'s
/// single process (<see cref="VpnNode"/>: every auth server and proxy here) or one <c>avpn node</c>
/// of a cluster (<see cref="ClusterNode"/>: the auth servers are reached through the group
/// singletons wherever they run; only this node's own proxies are listed).
/// </summary>
public sealed class ConsoleNode
{
    private readonly Func<TimeSpan, Task<ControlPlane>> _control;
    private readonly Func<UserEnrollment, Task<ClientProfile>> _profileFor;
    private readonly SemaphoreSlim _attaching = new(1, 1);
    private ControlPlane? _attached;

    private ConsoleNode(ActorSystem system, TopologyModel topology, IReadOnlyList<string> proxies, ActorPath proxiesPath,
        Func<TimeSpan, Task<ControlPlane>> control, Func<UserEnrollment, Task<ClientProfile>> profileFor)
    {
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

    public static ConsoleNode Of(VpnNode node) =>
        new(node.System, node.Topology, node.Topology.Proxies.Select(p => p.Name).ToList(), node.Proxies.Path,
            _ => Task.FromResult(node.Control), enrollment => Task.FromResult(node.ProfileFor(enrollment)));

    public static ConsoleNode Of(ClusterNode node)
    {
        return new ConsoleNode(node.System, node.Topology, node.Options.Proxies, node.Proxies.Path,
            timeout => ControlPlane.AttachAsync(node.System, node.Topology, name => node.Routes[name], timeout),
            enrollment => ClusterProfileAsync(node, enrollment));
    }

    /// <summary>Why no client profile can be written here for a user of <paramref name="homeServer"/>, or null.</summary>
    public string? ProfileProblem(string homeServer) =>
        Topology.AuthServer(homeServer).Relays.Values.FirstOrDefault(p => !Proxies.Contains(p, StringComparer.Ordinal)) is { } elsewhere
            ? $"the entry proxy {elsewhere} of {homeServer} runs on another node, so this node cannot write the profile: run `user add` on the console of the node hosting {elsewhere}"
            : null;

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

    /// <summary>On a cluster node a profile names the entry proxies of its home server; this node must host them to know their addresses.</summary>
    private static async Task<ClientProfile> ClusterProfileAsync(ClusterNode node, UserEnrollment enrollment)
    {
        var entries = new Dictionary<string, EntryProxy>(StringComparer.Ordinal);
        foreach (var (destination, proxy) in node.Topology.AuthServer(enrollment.HomeServer).Relays)
        {
            entries[destination] = new EntryProxy(proxy, await node.ProxyAddressAsync(proxy, TimeSpan.FromSeconds(10)), node.Topology.Destinations[destination].ToString());
        }

        using var certificate = CertificateText.FromDer(enrollment.CertificateDer);
        using var anchor = CertificateText.FromDer(enrollment.TrustAnchorDer);
        return new ClientProfile(enrollment.User, enrollment.HomeServer, CertificateText.ToPem(certificate),
            CertificateText.PrivateKeyToPem(enrollment.PrivateKeyPkcs8), CertificateText.ToPem(anchor), entries);
    }
}
