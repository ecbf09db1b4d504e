using ActorVpn.Client;
using ActorVpn.Credentials;
using ActorVpn.OperatorConsole;
using Akka.Actor;

namespace ActorVpn.Hosting;

/// <summary>The console's view of <c>avpn up</c>'s single process: every auth server and every proxy run here.</summary>
public sealed class SingleProcessConsoleNode(VpnNode node)
    : ConsoleNode(node.System, node.Topology, node.Topology.Proxies.Select(p => p.Name).ToList(), node.Proxies.Path)
{
    private readonly IReadOnlyList<ProxyAt> _here = node.Topology.Proxies
        .Select(p => new ProxyAt(p.Name, ((ExtendedActorSystem)node.System).Provider.DefaultAddress.ToString(), node.System.ActorSelection(node.Proxies.Path / p.Name)))
        .ToList();

    public override Task<IReadOnlyList<ProxyAt>> ProxiesAsync(TimeSpan probeTimeout) => Task.FromResult(_here);

    /// <summary>Every entry proxy runs here, so a profile can always be written.</summary>
    public override Task<string?> ProfileProblemAsync(string homeServer) => Task.FromResult<string?>(null);

    public override Task<ClientProfile> ProfileForAsync(UserEnrollment enrollment) => Task.FromResult(node.ProfileFor(enrollment));

    /// <summary>Every auth server runs here, under its upper server (Fig. 4).</summary>
    public override string AuthServerPath(string authServer) => "/user/auth-servers/" + string.Join('/', Topology.LineageOf(authServer));

    protected override Task<ControlPlane> AttachAsync(TimeSpan timeout) => Task.FromResult(node.Control);
}
