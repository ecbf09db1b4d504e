using ActorVpn.AuthServers.HandOff;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Topology;
using Akka.Actor;

namespace ActorVpn.AuthServers;

/// <summary>
/// The parent of every top-level auth server (the roots of the Fig. 4 tree), supervising them as an
/// upper server supervises its members. Its path is <c>/user/auth-servers</c>; a member's path
/// follows its lineage, e.g. <c>/user/auth-servers/as4/as2</c>.
/// </summary>
public sealed class AuthServersGuardian : ReceiveActor, IWithTimers
{
    public const string Name = "auth-servers";

    private readonly TopologyModel _topology;
    private readonly AuthServerSettings _settings;
    private readonly IReadOnlySet<string>? _only;
    private readonly StoreRestarts _restarts = new();

    public AuthServersGuardian(TopologyModel topology, AuthServerSettings settings, IReadOnlySet<string>? only)
    {
        _topology = topology;
        _settings = settings;
        _only = only;
        Receive<StoreRestarts.RestartAfterStoreFailure>(restart => _restarts.Schedule(Context, Timers, restart.Name));
        Receive<StoreRestarts.RecreateMember>(recreate => _restarts.Recreate(Context, Timers, recreate.Name,
            () => AuthServerActor.Props(_topology.AuthServer(recreate.Name), _topology, _settings)));
        ReceiveAny(_ => { });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="only">Start only these top-level groups (a cluster node hosts some of them); null for all.</param>
    public static Props Props(TopologyModel topology, AuthServerSettings settings, IReadOnlySet<string>? only = null) =>
        Akka.Actor.Props.Create(() => new AuthServersGuardian(topology, settings, only));

    /// <summary>The actor path of an auth server below the guardian, following its Fig. 4 lineage.</summary>
    public static string PathOf(TopologyModel topology, string authServer) =>
        $"/user/{Name}/{string.Join('/', topology.LineageOf(authServer))}";

    protected override SupervisorStrategy SupervisorStrategy() => AuthServerSupervision.Strategy;

    protected override void PreStart()
    {
        foreach (var root in _topology.Roots.Where(r => _only is null || _only.Contains(r.Name)))
        {
            Context.ActorOf(AuthServerActor.Props(root, _topology, _settings), root.Name);
        }
    }
}
