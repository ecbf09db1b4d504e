using System.Text;
using ActorVpn.Cluster;
using ActorVpn.Hosting.Audit;
using ActorVpn.OperatorConsole.Logging;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.OperatorConsole.Commands.ConsoleCommands;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary><c>actor hierarchy</c> and <c>log peek</c>: what this node's own process holds, read without asking any actor.</summary>
internal sealed class InspectionCommands(ConsoleNode node)
{
    /// <summary>The live actor tree, read from the actor cells of this system (no message is sent, nothing waits).</summary>
    public ConsoleReply ActorHierarchy(CommandLine line)
    {
        if (line.Positionals.Count > 3)
        {
            return ConsoleReply.UsageError("too many arguments", Palette.UsageOf("actor hierarchy"));
        }

        var depth = 6;
        if (line.Option("--depth") is { } d && (!int.TryParse(d, out depth) || depth < 0 || depth > 64))
        {
            return ConsoleReply.UsageError("--depth takes a number from 0 to 64", Palette.UsageOf("actor hierarchy"));
        }

        var path = line.Positionals.Count == 3 ? line.Positionals[2] : "/user";
        var system = (ExtendedActorSystem)node.System;
        IActorRef root = system.Provider.RootGuardian;
        foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            root = Children(root).FirstOrDefault(c => c.Path.Name == name)
                ?? throw new InvalidOperationException(ClusterCommands.IsCluster(node.System)
                    ? $"no actor at {path} on this node: the tree is this node's own; on a cluster node an auth server runs under /user/group-<root> of the node hosting its group (e.g. {GroupPlacement.PathOf(node.Topology, node.Topology.AuthServers[^1].Name)}; `cluster show` names the node, `auth list --json` the paths)"
                    : $"no actor at {path}");
        }

        var nodes = Walk(root, depth).ToList();
        var text = new StringBuilder();
        foreach (var (actor, level) in nodes)
        {
            text.Append(' ', level * 2).Append(level == 0 ? actor.Path.ToStringWithoutAddress() : actor.Path.Name).Append('\n');
        }

        return Reply(line, nodes.Select(n => new { path = n.Actor.Path.ToStringWithoutAddress(), depth = n.Level }).ToList(), text.ToString());
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

    public ConsoleReply LogPeek(CommandLine line)
    {
        if (Arity(line, 2, "log peek") is { } usage)
        {
            return usage;
        }

        var level = LogLevel.DebugLevel;
        if (line.Option("--level") is { } l && RingBufferLog.ParseLevel(l) is not { } parsed)
        {
            return ConsoleReply.UsageError($"unknown level '{l}'", Palette.UsageOf("log peek"));
        }
        else if (line.Option("--level") is { } given)
        {
            level = RingBufferLog.ParseLevel(given)!.Value;
        }

        var lines = 50;
        if (line.Option("--lines") is { } n && (!int.TryParse(n, out lines) || lines < 1 || lines > RingBufferLog.Capacity))
        {
            return ConsoleReply.UsageError($"--lines takes a number from 1 to {RingBufferLog.Capacity}", Palette.UsageOf("log peek"));
        }

        var peeked = RingBufferLog.For(node.System).Peek(lines, level);
        // Log lines quote what peers sent (names, frames, certificate subjects): escaped, so they cannot forge lines or drive the terminal.
        var text = string.Concat(peeked.Select(e => $"{e.Timestamp:HH:mm:ss.fff} {e.Level,-7} {TerminalText.Escape(e.Source)}: {TerminalText.Escape(e.Message)}\n"));
        return Reply(line, peeked, peeked.Count == 0 ? "(no log lines)\n" : text);
    }
}
