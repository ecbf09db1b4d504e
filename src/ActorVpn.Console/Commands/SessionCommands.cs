using System.CommandLine;
using Akka.Actor;
using static ActorVpn.OperatorConsole.Commands.ConsoleCommands;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// A client session across the chain: every proxy connection of one hand-off, entry proxy first,
/// and the node each of those proxies runs on (<see cref="Nodes"/>, in the order of <see cref="Route"/>).
/// </summary>
public sealed record SessionView(string Id, string User, IReadOnlyList<string> Route, DateTimeOffset Since, double AgeSeconds, long BytesIn, long BytesOut,
    IReadOnlyList<string> Nodes)
{
    /// <summary>Where each hop runs, so closing the session reaches every proxy of the chain (【0053】).</summary>
    internal IReadOnlyList<ICanTell> Actors { get; init; } = [];
}

/// <summary><c>session list|show|kill</c>: a client session is every proxy connection of one hand-off, on whichever nodes.</summary>
internal sealed class SessionCommands(NodeQueries queries)
{
    private static readonly Argument<string> ShowId = ConsoleValues.Word("ID");
    private static readonly Argument<string> KillId = ConsoleValues.Word("ID");

    public static readonly IReadOnlyList<ConsoleVerb> Verbs =
    [
        new("session list", "live client sessions across the chain (one per hand-off)"),
        new("session show", "one session: user, route, age, bytes", ShowId),
        new("session kill", "close a session at every proxy of its chain (【0053】)", KillId),
    ];

    public static string SessionText(SessionView s) =>
        $"{s.Id}  user {s.User}  route {string.Join(" -> ", s.Route)}  age {s.AgeSeconds:0.0} s  in {s.BytesIn} out {s.BytesOut}  on {string.Join(", ", s.Nodes.Distinct())}\n";

    /// <summary>【0053】: closing a session at its proxies, on whichever nodes they run, closes every connection of its chain and the client's.</summary>
    public static void Close(SessionView session, string reason, string? code = null, string? at = null)
    {
        foreach (var hop in session.Actors)
        {
            hop.Tell(new CloseSession(session.Id, reason, code, at), ActorRefs.NoSender);
        }
    }

    public async Task<ConsoleReply> SessionListAsync(VerbCall call)
    {
        var sessions = await queries.SessionsAsync();
        return Reply(call, sessions, sessions.Count == 0 ? "(no live sessions)\n" : string.Concat(sessions.Select(SessionText)));
    }

    public async Task<ConsoleReply> SessionShowAsync(VerbCall call)
    {
        var session = await FindAsync(call.Value(ShowId));
        return session is null ? NoSession(call.Value(ShowId)) : Reply(call, session, SessionText(session));
    }

    public async Task<ConsoleReply> SessionKillAsync(VerbCall call)
    {
        var session = await FindAsync(call.Value(KillId));
        if (session is null)
        {
            return NoSession(call.Value(KillId));
        }

        Close(session, "killed by the operator");

        return Reply(call, new { killed = session.Id, user = session.User, route = session.Route, nodes = session.Nodes }, $"session {session.Id} of {session.User} closed at {string.Join(", ", session.Route)} (on {string.Join(", ", session.Nodes.Distinct())})\n");
    }

    private static ConsoleReply NoSession(string id) => ConsoleReply.Failure($"no live session '{id}' (see `session list`)");

    private async Task<SessionView?> FindAsync(string id) => (await queries.SessionsAsync()).FirstOrDefault(s => s.Id == id);
}
