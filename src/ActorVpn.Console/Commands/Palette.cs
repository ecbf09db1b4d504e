namespace ActorVpn.OperatorConsole.Commands;

/// <summary>Every console command: its words, its usage line and what it does (the <c>help</c> text and tab completion).</summary>
public static class Palette
{
    public sealed record Entry(string Words, string Usage, string Summary);

    public static readonly IReadOnlyList<Entry> Commands =
    [
        new("help", "help", "this list"),
        new("cluster show", "cluster show [--json]", "members, roles, status, reachability, leader, and the node hosting each auth-server group"),
        new("cluster leave", "cluster leave ADDR [--json]", "ask a member (akka.tcp://...@HOST:PORT or HOST:PORT) to leave gracefully"),
        new("cluster down", "cluster down ADDR [--json]", "mark a member down (its groups fail over)"),
        new("cluster tail", "cluster tail [--count N] [--for DURATION] [--json]", "stream membership events and group hand-overs (Ctrl-C stops)"),
        new("actor hierarchy", "actor hierarchy [PATH] [--depth N] [--json]", "the live actor tree below PATH (default /user)"),
        new("log peek", "log peek [--level debug|info|warning|error] [--lines N] [--json]", "recent log lines of the node"),
        new("auth list", "auth list [--json]", "the auth-server tree (Fig. 4) with users and held certificates"),
        new("auth show", "auth show AS [--json]", "one auth server: tables (Figs. 2/3), credentials, users, held certificates"),
        RotationCommands.Entry,
        new("proxy list", "proxy list [--json]", "every proxy: address, owner, live sessions, bytes"),
        new("proxy show", "proxy show P [--json]", "one proxy and its connections"),
        new("session list", "session list [--json]", "live client sessions across the chain (one per hand-off)"),
        new("session show", "session show ID [--json]", "one session: user, route, age, bytes"),
        new("session kill", "session kill ID [--json]", "close a session at every proxy of its chain (【0053】)"),
        new("route trace", "route trace USER DEST [--json]", "run the hand-off on the live system (as `avpn route trace`)"),
        new("user add", "user add NAME --auth-server AS [--out P] [--json]", "register a user at its home server only and write its profile"),
        new("user revoke", "user revoke NAME [--json]", "refuse the user's new sessions and close its live ones"),
        new("user list", "user list [--json]", "every user of every auth server"),
        .. AuditCommands.Entries,
        .. OperatorCommands.Entries,
    ];

    public static string UsageOf(string words) =>
        Commands.FirstOrDefault(c => c.Words == words)?.Usage ?? string.Join(" | ", Commands.Where(c => c.Words.StartsWith(words + " ", StringComparison.Ordinal)).Select(c => c.Usage));

    public static string Help()
    {
        var width = Commands.Max(c => c.Usage.Length) + 2;
        return "commands (every one takes --json):\n" + string.Concat(Commands.Select(c => $"  {c.Usage.PadRight(width)}{c.Summary}\n"));
    }
}
