using System.CommandLine;
using System.Text.Json;
using ActorVpn.AuthServers;
using ActorVpn.Hosting;
using ActorVpn.Protocol;
using static ActorVpn.OperatorConsole.Commands.ConsoleCommands;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary><c>route trace</c>, <c>user add|revoke|list</c> and the live names for completion.</summary>
internal sealed class UserCommands(ConsoleNode node, NodeQueries queries)
{
    private static readonly Argument<string> TracedUser = ConsoleValues.Word("USER");
    private static readonly Argument<string> Destination = ConsoleValues.Word("DEST");
    private static readonly Argument<string> NewUser = ConsoleValues.Word("NAME");
    private static readonly Argument<string> RevokedUser = ConsoleValues.Word("NAME");
    private static readonly Option<string?> HomeServer = ConsoleValues.Text("--auth-server", "AS", "the user's home auth server (the only one it is registered at)", required: true);

    /// <summary>Where the operator's side writes the profile (<c>ConsoleShell</c>); the node itself writes nothing.</summary>
    public static readonly Option<string?> ProfileOut = ConsoleValues.Text("--out", "P", "where to write the client profile (default NAME.avpn)");

    public static readonly IReadOnlyList<ConsoleVerb> Verbs =
    [
        new("route trace", "run the hand-off on the live system (as `avpn route trace`)", TracedUser, Destination),
        new("user add", "register a user at its home server only and write its profile", NewUser, HomeServer, ProfileOut),
        new("user revoke", "refuse the user's new sessions and close its live ones", RevokedUser),
        new("user list", "every user of every auth server"),
    ];

    public async Task<ConsoleReply> RouteTraceAsync(VerbCall call)
    {
        var (user, destination) = (call.Value(TracedUser), call.Value(Destination));
        var home = await queries.HomeOfAsync(user);
        RouteTraceResult result;
        if (home is { Revoked: true })
        {
            result = new RouteTraceResult(false, user, destination, [], [home.Server], [],
                new HandOffError(ErrorCodes.CertificateRevoked, home.Server,
                    PatentStep.Fig7Check702.Cite(), $"'{user}' was revoked at {home.Server}"), []);
        }
        else
        {
            // An inspection: the home server traces with a throw-away certificate, so the user's own stay as they are.
            result = await RouteTracer.TraceAsync(await queries.ControlAsync(), node.System, user, destination, home?.Server);
        }

        return new ConsoleReply(result.Ok ? ConsoleReply.Ok : ConsoleReply.Failed, call.Json ? result.ToJson() + "\n" : result.ToText(),
            result.Ok || call.Json ? null : $"route trace failed: {result.Error}");
    }

    /// <summary>【0012】: the user is registered at its home server only; the profile goes back to the operator.</summary>
    public async Task<ConsoleReply> UserAddAsync(VerbCall call)
    {
        var (user, server) = (call.Value(NewUser), call.Value(HomeServer)!);

        if (!node.Topology.HasAuthServer(server))
        {
            return NoSuch("auth server", server, node.Topology.AuthServers.Select(a => a.Name));
        }

        if (await queries.HomeOfAsync(user) is { } existing && existing.Server != server)
        {
            return ConsoleReply.Failure($"'{user}' is already registered at {existing.Server}");
        }

        if (await node.ProfileProblemAsync(server) is { } elsewhere)
        {
            return ConsoleReply.Failure(elsewhere);
        }

        var profile = await node.ProfileForAsync(await (await queries.ControlAsync()).RegisterUserAsync(user, server, by: "console"));
        var reply = Reply(call, new { user, authServer = server, entries = profile.Entries }, $"user {user} registered at {server}; entry proxies: {Join(profile.Entries.Select(e => $"{e.Key} via {e.Value.Proxy}"))}\n");
        return reply with { ProfileJson = JsonSerializer.Serialize(profile, Json) };
    }

    /// <summary>Revocation refuses new sessions at once (step 702) and closes the user's live sessions (【0053】).</summary>
    public async Task<ConsoleReply> UserRevokeAsync(VerbCall call)
    {
        var user = call.Value(RevokedUser);
        var home = await queries.HomeOfAsync(user);
        if (home is null)
        {
            return ConsoleReply.Failure($"no user '{user}' is registered at any auth server");
        }

        switch (await (await queries.ControlAsync()).AskAsync<object>(home.Server, new RevokeUser(user, "console")))
        {
            case AdminRefused refused:
                return ConsoleReply.Failure(refused.Reason);
            case UserRevokedAck:
                break;
            case var other:
                return ConsoleReply.Failure($"unexpected answer {other}");
        }

        var closed = (await queries.SessionsAsync()).Where(s => s.User == user).ToList();
        foreach (var session in closed)
        {
            SessionCommands.Close(session, $"user {user} revoked at {home.Server}", ErrorCodes.CertificateRevoked, home.Server);
        }

        return Reply(call, new { user, authServer = home.Server, closedSessions = closed.Select(s => s.Id).ToList() },
            $"user {user} revoked at {home.Server}; closed {closed.Count} live session(s)\n");
    }

    public async Task<ConsoleReply> UserListAsync(VerbCall call)
    {
        var users = (await queries.AllAuthStatusAsync())
            .SelectMany(s => s.Users.Select(u => new { user = u.Name, authServer = s.Name, registeredAt = u.RegisteredAt, revokedAt = u.RevokedAt, activeCertificates = u.ActiveCertificates }))
            .OrderBy(u => u.user, StringComparer.Ordinal)
            .ToList();
        var text = string.Concat(users.Select(u => $"{u.user,-12} home {u.authServer,-8} {(u.revokedAt is null ? "active" : "revoked")}\n"));
        return Reply(call, users, users.Count == 0 ? "(no users)\n" : text);
    }

    /// <summary>Live names for tab completion: auth servers, proxies, users, members, destinations, sessions.</summary>
    public async Task<ConsoleReply> NamesAsync()
    {
        var users = (await queries.AllAuthStatusAsync()).SelectMany(s => s.Users.Select(u => u.Name));
        var sessions = (await queries.SessionsAsync()).Select(s => s.Id);
        var members = ClusterCommands.MemberAddresses(node.System);
        var names = node.Topology.AuthServers.Select(a => a.Name).Concat(node.Topology.Proxies.Select(p => p.Name))
            .Concat(node.Topology.Destinations.Keys).Concat(users).Concat(sessions).Concat(members).Distinct().Order(StringComparer.Ordinal);
        return ConsoleReply.Text(string.Join('\n', names) + "\n");
    }
}
