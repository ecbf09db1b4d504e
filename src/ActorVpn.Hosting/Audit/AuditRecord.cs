using ActorVpn.Messaging;

namespace ActorVpn.Hosting.Audit;

/// <summary>
/// One line of the audit trail, journalled as it is. A session attempt as the entry
/// proxy saw it (Fig. 6: the user, the destination, the route and hand-off path its home server
/// answered, the outcome and error code, start and end), or an operator's administrative action
/// (user add / revoke, by the subject of the operator's console certificate).
/// </summary>
/// <param name="Kind"><see cref="Session"/>, <see cref="Admin"/>, or <see cref="Unauthenticated"/> (connections that failed
/// before any auth server confirmed who they were, aggregated per peer and certificate: never a user's record).</param>
/// <param name="Id">The hand-off id of a session (the proxy connection id if refused before one existed); an admin action's id.</param>
/// <param name="Action"><c>connect</c> for a session; <c>user add</c> / <c>user revoke</c> for an admin action.</param>
/// <param name="Operator">Who did an admin action (the operator certificate's subject); null for sessions.</param>
/// <param name="Outcome"><c>ok</c>, <c>error</c>, or <c>started</c> (an admin action recorded before it is carried out).</param>
/// <param name="Peer">Of an unauthenticated record: the peer's address (<c>*</c> for the summary of sources not itemised).</param>
/// <param name="Fingerprint">Of an unauthenticated record: lower-case hex SHA-256 of the certificate the peer presented.</param>
/// <param name="Count">How many attempts the record stands for (more than one only for unauthenticated records).</param>
[PersistedAs("audit-record")]
public sealed record AuditRecord(
    string Kind,
    string Id,
    string Action,
    string User,
    string? Operator,
    string? AuthServer,
    string? Destination,
    IReadOnlyList<string> Route,
    IReadOnlyList<string> HandOff,
    string Outcome,
    string? ErrorCode,
    string? Message,
    DateTimeOffset Start,
    DateTimeOffset? End,
    string? Peer = null,
    string? Fingerprint = null,
    long Count = 1) : IActorVpnMessage
{
    public const string Session = "session";
    public const string Admin = "admin";
    public const string Unauthenticated = "unauthenticated";

    /// <summary>The user of a record no auth server attributed to anyone: it carries no user tag.</summary>
    public const string NoUser = "-";

    public const string Ok = "ok";
    public const string Error = "error";
    public const string Started = "started";

    /// <summary>The tag every record carries (the whole trail, in write order).</summary>
    public const string TrailTag = "audit";

    /// <summary>The tag of one user's records: <c>audit query --user U</c> reads only these.</summary>
    public static string UserTag(string user) => "audit-user-" + user;

    /// <summary>The tags a record is journalled with: a user's only when some auth server attributed it to that user.</summary>
    public IReadOnlyList<string> Tags => User == NoUser ? [TrailTag] : [TrailTag, UserTag(User)];

    /// <summary>
    /// What makes two records the same line of the trail: kind, id, action, outcome and times. A record the
    /// store committed but whose confirmation was lost in an outage is written again; readers show it once.
    /// </summary>
    public string Identity => FormattableString.Invariant($"{Kind}|{Id}|{Action}|{Outcome}|{Start.UtcTicks}|{End?.UtcTicks}");

    /// <summary>When it happened, for time filters: the end if there is one, else the start.</summary>
    public DateTimeOffset At => End ?? Start;

    /// <summary>One line for a terminal. Every text field is escaped (<see cref="TerminalText"/>): names, messages and claims
    /// may come from peers, and a newline or an escape sequence in them must not forge a line or drive the operator's terminal.</summary>
    public string ToText()
    {
        static string E(string? text) => TerminalText.Escape(text);
        return $"{At.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {E(Kind),-7} {E(Outcome),-7} {E(Action),-11} user {E(User)}" +
            (Operator is null ? string.Empty : $" by {E(Operator)}") +
            (AuthServer is null ? string.Empty : $" at {E(AuthServer)}") +
            (Destination is null ? string.Empty : $" to {E(Destination)}") +
            (Route.Count == 0 ? string.Empty : $" route [{string.Join(", ", Route.Select(E))}]") +
            (HandOff.Count == 0 ? string.Empty : $" hand-off [{string.Join(", ", HandOff.Select(E))}]") +
            (Peer is null ? string.Empty : $" peer {E(Peer)}") +
            (Fingerprint is null ? string.Empty : $" certificate sha256:{E(Fingerprint)}") +
            (Count == 1 ? string.Empty : $" x{Count}") +
            (ErrorCode is null ? string.Empty : $" error {E(ErrorCode)}") +
            (Message is null ? string.Empty : $" ({E(Message)})") +
            $" id {E(Id)} start {Start.UtcDateTime:HH:mm:ss.fff}" + (End is { } end ? $" end {end.UtcDateTime:HH:mm:ss.fff}" : string.Empty) + "\n";
    }
}

/// <summary>Text from the network or from operators, made safe to print on a terminal.</summary>
public static class TerminalText
{
    /// <summary>
    /// Control characters (C0, DEL, C1: newlines, ESC of ANSI sequences) and invisible format characters (bidirectional
    /// overrides) become visible escapes (<c>\n</c>, <c>\x1b</c>, <c>\u202e</c>); a backslash is doubled so an escape
    /// cannot be faked. Null is empty.
    /// </summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        if (!text.Any(NeedsEscape))
        {
            return text;
        }

        var escaped = new System.Text.StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            escaped.Append(c switch
            {
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when c < 0x100 && char.IsControl(c) => $"\\x{(int)c:x2}",
                _ when NeedsEscape(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return escaped.ToString();
    }

    private static bool NeedsEscape(char c) =>
        c == '\\' || char.IsControl(c) || System.Globalization.CharUnicodeInfo.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format;
}
