using System.Text.Json;
using ActorVpn.OperatorConsole.Host;
using Akka.Actor;
using Akka.Cluster;
using static Akka.Cluster.ClusterEvent;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// <c>cluster tail</c>: a child of one console connection that subscribes to this node's view of
/// the cluster (member up, left, exited, removed, downed, unreachable, reachable, leader changes)
/// and, on a timer, asks the members that may host each auth-server group which of them runs it,
/// reporting hand-overs and fail-overs ("group as4 now hosted on X"). Each event goes to the
/// connection as one <see cref="ConsoleReply.Part"/>; it ends (a final reply) after <c>--count</c>
/// events, after <c>--for</c>, or when the connection asks it to stop. Nothing here waits: the
/// probe is an ask piped back, so neither the connection nor the node is ever blocked.
/// </summary>
public sealed class ClusterTailActor : ReceiveActor, IWithTimers
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ConsoleNode _node;
    private readonly IActorRef _connection;
    private readonly IReadOnlyList<string> _groups;
    private readonly bool _json;
    private readonly int? _count;
    private readonly TimeSpan? _duration;
    private readonly TimeSpan _probeInterval;
    private readonly TimeSpan _probeTimeout;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly Dictionary<string, string?> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _lastHosts = new(StringComparer.Ordinal);
    private CurrentClusterState _state = new();
    private bool _probing;
    private bool _finished;
    private int _events;

    public ClusterTailActor(ConsoleNode node, IActorRef connection, IReadOnlyList<string> groups, bool json, int? count, TimeSpan? duration, TimeSpan probeInterval, TimeSpan probeTimeout)
    {
        _node = node;
        _connection = connection;
        _groups = groups;
        _json = json;
        _count = count;
        _duration = duration;
        _probeInterval = probeInterval;
        _probeTimeout = probeTimeout;

        Receive<CurrentClusterState>(state =>
        {
            _state = state;
            var header = $"watching the cluster from {_cluster.SelfAddress}: {state.Members.Count} member(s), leader {state.Leader?.ToString() ?? "(none)"}; " +
                $"{(_count is { } n ? $"stops after {n} event(s)" : _duration is { } d ? $"stops after {d.TotalSeconds:0.###} s" : "Ctrl-C stops")}\n";
            _connection.Tell(ConsoleReply.Part(_json ? Line(new { @event = "watching", self = _cluster.SelfAddress.ToString(), members = state.Members.Count, leader = state.Leader?.ToString() }) : header));
        });
        Receive<IMemberEvent>(e =>
        {
            _state = _cluster.State;
            var kind = e switch
            {
                MemberJoined => "member-joined",
                MemberUp => "member-up",
                MemberWeaklyUp => "member-weakly-up",
                MemberLeft => "member-left",
                MemberExited => "member-exited",
                MemberDowned => "member-downed",
                MemberRemoved => "member-removed",
                _ => "member-" + ClusterCommands.StatusOf(e.Member.Status),
            };
            var previous = e is MemberRemoved removed ? $" (was {ClusterCommands.StatusOf(removed.PreviousStatus)})" : string.Empty;
            Emit(kind, $"{kind,-16} {e.Member.Address}  roles [{string.Join(", ", e.Member.Roles.Order(StringComparer.Ordinal))}]{previous}",
                new { member = e.Member.Address.ToString(), status = ClusterCommands.StatusOf(e.Member.Status), roles = e.Member.Roles.Order(StringComparer.Ordinal).ToList() });
            Probe();
        });
        Receive<UnreachableMember>(e => Emit("unreachable", $"unreachable      {e.Member.Address}", new { member = e.Member.Address.ToString() }));
        Receive<ReachableMember>(e => Emit("reachable", $"reachable        {e.Member.Address}", new { member = e.Member.Address.ToString() }));
        Receive<LeaderChanged>(e => Emit("leader-changed", $"leader-changed   {e.Leader?.ToString() ?? "(none)"}", new { leader = e.Leader?.ToString() }));
        Receive<ProbeGroups>(_ => Probe());
        Receive<Probed>(probed =>
        {
            _probing = false;
            foreach (var host in probed.Hosts)
            {
                Report(host);
            }
        });
        Receive<ConsoleConnectionActor.StopStream>(_ => Finish("stopped by the operator"));
        Receive<Elapsed>(_ => Finish($"--for {_duration!.Value.TotalSeconds:0.###} s elapsed"));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ConsoleNode node, IActorRef connection, IReadOnlyList<string> groups, bool json, int? count, TimeSpan? duration, TimeSpan probeInterval, TimeSpan probeTimeout) =>
        Akka.Actor.Props.Create(() => new ClusterTailActor(node, connection, groups, json, count, duration, probeInterval, probeTimeout));

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(IMemberEvent), typeof(IReachabilityEvent), typeof(LeaderChanged));
        Timers.StartPeriodicTimer("probe", ProbeGroups.Instance, _probeInterval);
        if (_duration is { } duration)
        {
            Timers.StartSingleTimer("for", Elapsed.Instance, duration);
        }

        Self.Tell(ProbeGroups.Instance);
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    /// <summary>Asks where the groups run now, unless a probe is still out; the answer comes back as <see cref="Probed"/>.</summary>
    private void Probe()
    {
        if (_probing || _groups.Count == 0)
        {
            return;
        }

        _probing = true;
        ClusterCommands.GroupHostsAsync(_node, _groups, _state.Members, _probeTimeout)
            .PipeTo(Self, success: hosts => new Probed(hosts), failure: _ => new Probed([]));
    }

    /// <summary>A group found on a node other than the last one reported: its first host, a hand-over or a fail-over.</summary>
    private void Report(ClusterCommands.GroupHost host)
    {
        _hosts.TryGetValue(host.Group, out var current);
        _lastHosts.TryGetValue(host.Group, out var last);
        if (host.Node is { } now)
        {
            if (current == now)
            {
                return;
            }

            _hosts[host.Group] = now;
            _lastHosts[host.Group] = now;
            if (last is not null && last != now)
            {
                Emit("group-moved", $"group {host.Group} now hosted on {now} (was {last})", new { group = host.Group, node = now, was = last });
            }
            else
            {
                Emit("group-hosted", $"group {host.Group} hosted on {now}", new { group = host.Group, node = now });
            }
        }
        else if (current is not null && !_state.Members.Any(m => m.Address.ToString() == current && m.Status == MemberStatus.Up && !_state.Unreachable.Contains(m)))
        {
            // No node answered and the last host is gone or going: the group is between nodes.
            _hosts[host.Group] = null;
            Emit("group-unhosted", $"group {host.Group} has no host right now (was {current}); it starts on the next node that may host it", new { group = host.Group, was = current });
        }
    }

    private void Emit(string kind, string text, object details)
    {
        if (_finished)
        {
            return;
        }

        var at = DateTimeOffset.UtcNow;
        var json = JsonSerializer.SerializeToElement(details, Json);
        var fields = new Dictionary<string, object?> { ["event"] = kind, ["at"] = at };
        foreach (var property in json.EnumerateObject())
        {
            fields[property.Name] = property.Value;
        }

        _connection.Tell(ConsoleReply.Part(_json ? Line(fields) : $"{at:HH:mm:ss.fff} {text}\n"));
        if (++_events >= _count)
        {
            Finish($"--count {_count} reached");
        }
    }

    private void Finish(string reason)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        _connection.Tell(new ConsoleReply(ConsoleReply.Ok, _json ? Line(new { @event = "ended", reason, events = _events }) : $"tail ended: {reason} ({_events} event(s))\n"));
        Context.Stop(Self);
    }

    private static string Line(object value) => JsonSerializer.Serialize(value, Json) + "\n";

    private sealed record ProbeGroups
    {
        public static readonly ProbeGroups Instance = new();
    }

    private sealed record Elapsed
    {
        public static readonly Elapsed Instance = new();
    }

    private sealed record Probed(IReadOnlyList<ClusterCommands.GroupHost> Hosts);
}
