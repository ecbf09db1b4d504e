using System.CommandLine;
using System.Text;
using Akka.Actor;
using static ActorVpn.OperatorConsole.Commands.ConsoleCommands;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary><c>proxy list</c> and <c>proxy show</c>: every proxy of the reachable nodes and one proxy's connections.</summary>
internal sealed class ProxyCommands(ConsoleNode node, TimeSpan timeout, NodeQueries queries)
{
    private static readonly Argument<string> Proxy = ConsoleValues.Word("P");

    public static readonly IReadOnlyList<ConsoleVerb> Verbs =
    [
        new("proxy list", "every proxy: address, owner, live sessions, bytes"),
        new("proxy show", "one proxy and its connections", Proxy),
    ];

    public async Task<ConsoleReply> ProxyListAsync(VerbCall call)
    {
        var found = await queries.AllProxyStatusAsync();
        var statuses = found.Select(f => f.Status).ToList();
        var text = string.Concat(found.Select(f => (f.Status, f.At.Node)).Select(f =>
            $"{f.Status.Proxy,-10} {f.Status.Address,-22} owner {f.Status.AuthServer,-8} live {f.Status.Sessions.Count,3}  accepted {f.Status.Accepted}  refused {f.Status.Refused}  bytes {f.Status.BytesRelayed}  on {f.Node}\n"));
        return Reply(call, statuses, text.Length == 0 ? "(no proxies)\n" : text);
    }

    public async Task<ConsoleReply> ProxyShowAsync(VerbCall call)
    {
        var name = call.Value(Proxy);
        if (!node.Topology.HasProxy(name))
        {
            return NoSuch("proxy", name, node.Topology.Proxies.Select(p => p.Name));
        }

        if ((await node.ProxiesAsync(queries.ProbeTimeout)).FirstOrDefault(p => p.Proxy == name) is not { } at)
        {
            return ConsoleReply.Failure($"proxy '{name}' is not running on any reachable node of the cluster (see `cluster show`)");
        }

        var s = await at.Actor.Ask<ProxyStatus>(GetProxyStatus.Instance, timeout);
        var text = new StringBuilder($"proxy {s.Proxy}\n  node     : {at.Node}\n  listen   : {s.Address}\n  owner    : {s.AuthServer}\n  accepted : {s.Accepted}  refused {s.Refused}  bytes relayed {s.BytesRelayed}\n  connections ({s.Sessions.Count}):\n");
        foreach (var c in s.Sessions)
        {
            text.Append($"    {c.Id,-14} {c.Stage,-10} user {c.User ?? "-"}  session {c.HandOffId ?? "-"}  onward {c.OnwardTo ?? "-"}  in {c.BytesIn} out {c.BytesOut}\n");
        }

        return Reply(call, s, text.ToString());
    }
}
