using System.CommandLine;
using System.Text;
using static ActorVpn.OperatorConsole.Commands.ConsoleCommands;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary><c>auth list</c> and <c>auth show</c>: the auth-server tree (Fig. 4) and one server's tables (Figs. 2 and 3).</summary>
internal sealed class AuthServerCommands(ConsoleNode node, NodeQueries queries)
{
    private static readonly Argument<string> Server = ConsoleValues.Word("AS");

    public static readonly IReadOnlyList<ConsoleVerb> Verbs =
    [
        new("auth list", "the auth-server tree (Fig. 4) with users and held certificates"),
        new("auth show", "one auth server: tables (Figs. 2/3), credentials, users, held certificates", Server),
    ];

    public async Task<ConsoleReply> AuthListAsync(VerbCall call)
    {
        var statuses = (await queries.AllAuthStatusAsync()).ToDictionary(s => s.Name, StringComparer.Ordinal);
        var text = new StringBuilder("auth servers (Fig. 4: members under their upper server):\n");
        void Print(string name, int level)
        {
            var s = statuses[name];
            text.Append(' ', 2 + (level * 2)).Append($"{name,-10} path {string.Join('/', node.Topology.LineageOf(name))}  users {s.Users.Count(u => u.RevokedAt is null)}  holds {s.Held.Count}  pending {s.PendingHandOffs}\n");
            foreach (var member in node.Topology.MembersOf(name))
            {
                Print(member.Name, level + 1);
            }
        }

        foreach (var root in node.Topology.Roots)
        {
            Print(root.Name, 0);
        }

        var json = node.Topology.AuthServers.Select(a => statuses[a.Name]).Select(s => new
        {
            name = s.Name,
            upper = s.UpperServer,
            members = s.Members,
            path = node.AuthServerPath(s.Name),
            users = s.Users.Count(u => u.RevokedAt is null),
            held = s.Held.Count,
            pending = s.PendingHandOffs,
        }).ToList();
        return Reply(call, json, text.ToString());
    }

    public async Task<ConsoleReply> AuthShowAsync(VerbCall call)
    {
        var name = call.Value(Server);
        if (!node.Topology.HasAuthServer(name))
        {
            return NoSuch("auth server", name, node.Topology.AuthServers.Select(a => a.Name));
        }

        var s = await queries.AuthStatusAsync(name);
        var now = DateTimeOffset.UtcNow;
        var text = new StringBuilder();
        text.Append($"auth server {s.Name}\n");
        text.Append($"  upper server : {s.UpperServer ?? "(none: top of the tree)"}\n");
        text.Append($"  members      : {Join(s.Members)}\n");
        text.Append($"  routes (Fig. 2, relay-route table) : {Join(s.Routes.Select(r => $"{r.Key} -> {r.Value}"))}\n");
        text.Append($"  relays (Fig. 3, relay-proxy table) : {Join(s.Relays.Select(r => $"{r.Key} -> {r.Value}"))}\n");
        text.Append($"  credentials issued to (【0023】)    : {Join(s.CredentialsIssuedTo)}\n");
        text.Append($"  credentials held from (【0023】)    : {Join(s.CredentialsHeldFrom)}\n");
        text.Append($"  proxy pins   : {Join(s.ProxyPins.Select(p => $"{p.Key} {p.Value}"))}\n");
        text.Append($"  users ({s.Users.Count}):\n");
        foreach (var u in s.Users)
        {
            text.Append($"    {u.Name,-12} registered {u.RegisteredAt:u}  {(u.RevokedAt is { } r ? $"REVOKED {r:u}" : $"{u.ActiveCertificates} active certificate(s)")}\n");
        }

        text.Append($"  holds certificate 1 now (step 910) ({s.Held.Count}):\n");
        foreach (var h in s.Held)
        {
            text.Append($"    {h.HandOffId} user {h.User} to {h.Destination} for proxy {h.RelayProxy}, held {(now - h.HeldSince).TotalSeconds:0} s, drops in {Math.Max(0, (h.ExpiresAt - now).TotalSeconds):0} s\n");
        }

        text.Append($"  pending hand-offs: {s.PendingHandOffs}\n");
        return Reply(call, s, text.ToString());
    }
}
