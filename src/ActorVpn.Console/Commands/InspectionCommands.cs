using System.CommandLine;
using System.Text;
using ActorVpn.Hosting.Audit;
using ActorVpn.OperatorConsole.Logging;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.OperatorConsole.Commands.ConsoleCommands;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary><c>actor hierarchy</c> and <c>log peek</c>: what this node's own process holds, read without asking any actor.</summary>
internal sealed class InspectionCommands(ConsoleNode node)
{
    private static readonly Argument<string?> TreeRoot = ConsoleValues.OptionalWord("PATH");

    private static readonly Option<int?> Depth = ConsoleValues.Number("--depth", 0, 64, "how many levels below PATH (default 6)");

    private static readonly Option<LogLevel?> Level = ConsoleValues.Parsed<LogLevel>("--level", "debug|info|warning|error", "the lowest level shown (default debug)",
        RingBufferLog.ParseLevel, text => $"unknown level '{text}'");

    private static readonly Option<int?> Lines = ConsoleValues.Number("--lines", 1, RingBufferLog.Capacity, "how many of the latest lines (default 50)");

    public static readonly IReadOnlyList<ConsoleVerb> Verbs =
    [
        new("actor hierarchy", "the live actor tree below PATH (default /user)", TreeRoot, Depth),
        new("log peek", "recent log lines of the node", Level, Lines),
    ];

    /// <summary>The live actor tree, read from the actor cells of this system (no message is sent, nothing waits).</summary>
    public ConsoleReply ActorHierarchy(VerbCall call)
    {
        var depth = call.Value(Depth) ?? 6;
        var path = call.Value(TreeRoot) ?? "/user";
        var system = (ExtendedActorSystem)node.System;
        IActorRef root = system.Provider.RootGuardian;
        foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            root = Children(root).FirstOrDefault(c => c.Path.Name == name)
                ?? throw new InvalidOperationException(ClusterCommands.IsCluster(node.System)
                    ? $"no actor at {path} on this node: the tree is this node's own; on a cluster node an auth server runs under /user/group-<root> of the node hosting its group (e.g. {node.AuthServerPath(node.Topology.AuthServers[^1].Name)}; `cluster show` names the node, `auth list --json` the paths)"
                    : $"no actor at {path}");
        }

        var nodes = Walk(root, depth).ToList();
        var text = new StringBuilder();
        foreach (var (actor, level) in nodes)
        {
            text.Append(' ', level * 2).Append(level == 0 ? actor.Path.ToStringWithoutAddress() : actor.Path.Name).Append('\n');
        }

        return Reply(call, nodes.Select(n => new { path = n.Actor.Path.ToStringWithoutAddress(), depth = n.Level }).ToList(), text.ToString());
    }

    public static IEnumerable<(IActorRef Actor, int Level)> Walk(IActorRef actor, int depth, int level = 0)
    {
        yield return (actor, level);
        if (level >= depth)
        {
            yield break;
        }

        foreach (var child in Children(actor).OrderBy(c => c.Path.Name, StringComparer.Ordinal))
        {
            foreach (var below in Walk(child, depth, level + 1))
            {
                yield return below;
            }
        }
    }

    public static IEnumerable<IActorRef> Children(IActorRef actor) =>
        actor is ActorRefWithCell withCell ? withCell.Children.Where(c => !c.Path.Name.StartsWith('$')).ToList() : [];

    public ConsoleReply LogPeek(VerbCall call)
    {
        var level = call.Value(Level) ?? LogLevel.DebugLevel;
        var lines = call.Value(Lines) ?? 50;
        var peeked = RingBufferLog.For(node.System).Peek(lines, level);
        // Log lines quote what peers sent (names, frames, certificate subjects): escaped, so they cannot forge lines or drive the terminal.
        var text = string.Concat(peeked.Select(e => $"{e.Timestamp:HH:mm:ss.fff} {e.Level,-7} {TerminalText.Escape(e.Source)}: {TerminalText.Escape(e.Message)}\n"));
        return Reply(call, peeked, peeked.Count == 0 ? "(no log lines)\n" : text);
    }
}
