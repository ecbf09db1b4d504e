using System.CommandLine;
using System.Text;
using Akka.Actor;
using Akka.Cluster;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// The <c>cluster</c> palette: <c>show</c> (members, roles, status, reachability, leader, and the
/// node that hosts each auth-server group's singleton), <c>leave ADDR</c>, <c>down ADDR</c> and the
/// streaming <c>tail</c> (<see cref="ClusterTailActor"/>). On <c>avpn up</c> (no cluster provider:
/// one process) <c>show</c> describes the one node; the others say they need <c>avpn node</c>.
/// </summary>
public sealed class ClusterCommands(ConsoleNode node, TimeSpan timeout)
{
    private static readonly Argument<string> LeaveAddress = ConsoleValues.Word("ADDR");
    private static readonly Argument<string> DownAddress = ConsoleValues.Word("ADDR");
    private static readonly Option<int?> Count = ConsoleValues.Number("--count", 1, 1_000_000, "stop after this many events");

    // At most a day: a bounded tail ends on its own.
    private static readonly Option<TimeSpan?> For = ConsoleValues.Duration("--for", TimeSpan.FromDays(1), "stop after this long, e.g. 500ms, 30s, 5m, 1h");

    public static readonly IReadOnlyList<ConsoleVerb> Verbs =
    [
        new("cluster show", "members, roles, status, reachability, leader, and the node hosting each auth-server group"),
        new("cluster leave", "ask a member (akka.tcp://...@HOST:PORT or HOST:PORT) to leave gracefully", LeaveAddress),
        new("cluster down", "mark a member down (its groups fail over)", DownAddress),
        new("cluster tail", "stream membership events and group hand-overs (Ctrl-C stops)", Count, For),
    ];

    private const string NotACluster = "this node is not an Akka.Cluster member (`avpn up` runs the whole system in one process); cluster membership commands need `avpn node`";

    /// <summary>
    /// A group's singleton and where it runs right now (null: no node answered for it). When no
    /// reachable candidate runs it but the oldest candidate (where the singleton manager places it)
    /// is unreachable, <see cref="Node"/> names that member and <see cref="Reachable"/> is false: the
    /// group was last there and cannot be asked until the partition heals or the member is downed.
    /// </summary>
    public sealed record GroupHost(string Group, string? Node, IReadOnlyList<string> Candidates, bool Reachable = true);

    public static bool IsCluster(ActorSystem system) => ((ExtendedActorSystem)system).Provider is IClusterActorRefProvider;

    /// <summary>The members' addresses (this node's own on a single-node system): live names for tab completion.</summary>
    public static IReadOnlyList<string> MemberAddresses(ActorSystem system) =>
        IsCluster(system)
            ? Akka.Cluster.Cluster.Get(system).State.Members.Select(m => m.Address.ToString()).ToList()
            : [((ExtendedActorSystem)system).Provider.DefaultAddress.ToString()];

    public async Task<ConsoleReply> ShowAsync(VerbCall call)
    {
        var system = (ExtendedActorSystem)node.System;
        if (!IsCluster(system))
        {
            var self = system.Provider.DefaultAddress.ToString();
            var groups = node.Topology.Roots.Select(r => new GroupHost(r.Name, self, [self])).ToList();
            var single = new
            {
                provider = system.Provider.GetType().Name,
                cluster = false,
                leader = self,
                members = new[] { new { address = self, status = "up", roles = Array.Empty<string>(), reachable = true, leader = true, self = true } },
                groups,
            };
            var text = $"a single-node system ({single.provider}, no Akka.Cluster): this process is the only member and its own leader\n" +
                $"  {self}  up  reachable  leader  (this node)\n" +
                $"auth-server groups (all in this process): {string.Join(", ", groups.Select(g => g.Group))}\n";
            return ConsoleCommands.Reply(call, single, text);
        }

        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).Select(m => new
        {
            address = m.Address.ToString(),
            status = StatusOf(m.Status),
            roles = m.Roles.Order(StringComparer.Ordinal).ToList(),
            reachable = !unreachable.Contains(m.Address),
            leader = m.Address.Equals(state.Leader),
            self = m.Address.Equals(cluster.SelfAddress),
        }).ToList();
        var hosts = await GroupHostsAsync(node, node.Topology.Roots.Select(r => r.Name).ToList(), state.Members, NodeQueries.ProbeTimeoutOf(timeout), unreachable);
        var json = new { provider = "cluster", cluster = true, leader = state.Leader?.ToString(), members, groups = hosts };

        var text2 = new StringBuilder($"cluster of {members.Count} member(s), leader {state.Leader?.ToString() ?? "(none)"}\n");
        foreach (var m in members)
        {
            text2.Append($"  {m.address}  {m.status,-8} {(m.reachable ? "reachable" : "UNREACHABLE")}{(m.leader ? "  leader" : string.Empty)}{(m.self ? "  (this node)" : string.Empty)}  roles [{string.Join(", ", m.roles)}]\n");
        }

        text2.Append("auth-server groups (cluster singletons):\n");
        foreach (var g in hosts)
        {
            text2.Append($"  {g.Group,-8} hosted on {g.Node ?? "(no node right now)"}{(g.Reachable ? string.Empty : " (UNREACHABLE: last known host)")}  candidates [{string.Join(", ", g.Candidates)}]\n");
        }

        return ConsoleCommands.Reply(call, json, text2.ToString());
    }

    public ConsoleReply Leave(VerbCall call) =>
        Change(call, call.Value(LeaveAddress), m => m.Status is MemberStatus.Leaving or MemberStatus.Exiting ? "is already leaving" : null,
            (cluster, address) => cluster.Leave(address),
            address => $"{address} is leaving the cluster gracefully (its groups hand over to the next node; watch with `cluster tail`)\n");

    public ConsoleReply Down(VerbCall call) =>
        Change(call, call.Value(DownAddress), m => m.Status == MemberStatus.Down ? "is already down" : null,
            (cluster, address) => cluster.Down(address),
            address => $"{address} is marked down; the leader removes it and its groups fail over (watch with `cluster tail`)\n");

    /// <summary><c>cluster tail [--count N] [--for DURATION]</c>: the props of a <see cref="ClusterTailActor"/> streaming to <paramref name="connection"/>.</summary>
    public (Props? Stream, ConsoleReply? Refused) Tail(VerbCall call, IActorRef connection)
    {
        if (!IsCluster(node.System))
        {
            return (null, ConsoleReply.Failure(NotACluster));
        }

        var probe = node.System.Settings.Config.GetTimeSpan("actorvpn.console.tail-probe-interval", TimeSpan.FromSeconds(1));
        return (ClusterTailActor.Props(node, connection, node.Topology.Roots.Select(r => r.Name).ToList(), call.Json, call.Value(Count), call.Value(For), probe, NodeQueries.ProbeTimeoutOf(timeout)), null);
    }

    public static string StatusOf(MemberStatus status) => status.ToString().ToLowerInvariant();

    /// <summary>
    /// Where each group's singleton really runs: every reachable member that may host it (role
    /// <c>group-&lt;root&gt;</c>) is asked at once, with <see cref="Identify"/>, whether it has
    /// <c>/user/group-&lt;root&gt;/&lt;root&gt;</c>; the one that does is the host. An unreachable member
    /// is not asked (it cannot answer before the bound; during a partition that made every call wait
    /// for it): if none of the reachable ones runs the group, the cluster state says where it is, on
    /// the oldest candidate, where the singleton manager places it.
    /// </summary>
    public static async Task<IReadOnlyList<GroupHost>> GroupHostsAsync(ConsoleNode node, IReadOnlyList<string> groups, IEnumerable<Member> members, TimeSpan probeTimeout,
        IReadOnlySet<Address>? unreachable = null)
    {
        unreachable ??= Akka.Cluster.Cluster.Get(node.System).State.Unreachable.Select(m => m.Address).ToHashSet();
        var candidates = members.Where(m => m.Status is not (MemberStatus.Removed or MemberStatus.Down)).ToList();
        return await Task.WhenAll(groups.Select(async group =>
        {
            var role = node.GroupRoleOf(group);
            var able = candidates.Where(m => m.HasRole(role)).OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).ToList();
            var answers = await Task.WhenAll(able.Where(m => !unreachable.Contains(m.Address)).Select(async m =>
            {
                var path = node.GroupRootOn(m.Address, group);
                try
                {
                    var identity = await node.System.ActorSelection(path).Ask<ActorIdentity>(new Identify(group), probeTimeout);
                    return identity.Subject is not null ? m.Address.ToString() : null;
                }
                catch (AskTimeoutException)
                {
                    return null;
                }
            }));
            var names = able.Select(m => m.Address.ToString()).ToList();
            if (answers.FirstOrDefault(a => a is not null) is { } host)
            {
                return new GroupHost(group, host, names);
            }

            var oldest = able.Where(m => m.Status is MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Exiting).OrderBy(m => m, Member.AgeOrdering).FirstOrDefault();
            return oldest is not null && unreachable.Contains(oldest.Address)
                ? new GroupHost(group, oldest.Address.ToString(), names, Reachable: false)
                : new GroupHost(group, null, names);
        }));
    }

    private ConsoleReply Change(VerbCall call, string given, Func<Member, string?> already, Action<Akka.Cluster.Cluster, Address> act, Func<Address, string> done)
    {
        if (!IsCluster(node.System))
        {
            return ConsoleReply.Failure(NotACluster);
        }

        var cluster = Akka.Cluster.Cluster.Get(node.System);
        var members = cluster.State.Members;
        Address address;
        try
        {
            address = Address.Parse(given);
        }
        catch (Exception)
        {
            // HOST:PORT is enough when it names exactly one member.
            var byHostPort = members.Where(m => $"{m.Address.Host}:{m.Address.Port}" == given).ToList();
            if (byHostPort.Count != 1)
            {
                return ConsoleReply.UsageError($"'{given}' is not a member address (akka.tcp://SYSTEM@HOST:PORT, or HOST:PORT of a member)", call.Verb.Usage);
            }

            address = byHostPort[0].Address;
        }

        if (members.FirstOrDefault(m => m.Address.Equals(address)) is not { } member)
        {
            return ConsoleReply.Failure($"no member {address} in the cluster (members: {string.Join(", ", members.Select(m => m.Address))})");
        }

        if (already(member) is { } problem)
        {
            return ConsoleReply.Failure($"{address} {problem}");
        }

        act(cluster, address);
        return ConsoleCommands.Reply(call, new { member = address.ToString(), action = call.Words.Split(' ')[1], status = StatusOf(member.Status) }, done(address));
    }
}
