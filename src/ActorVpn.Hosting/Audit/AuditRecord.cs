using ActorVpn.Messaging;

namespace ActorVpn.Hosting.Audit;

/// <summary>
/// One line of the audit trail (issue #5), journalled as it is. A session attempt as the entry
/// proxy saw it (Fig. 6: the user, the destination, the route and hand-off path its home server
/// answered, the outcome and error code, start and end), or an operator's administrative action
/// (user add / revoke, by the subject of the operator's console certificate).
/// </summary>
/// <param name="Kind"><see cref="Session"/> or <see cref="Admin"/>.</param>
/// <param name="Id">The hand-off id of a session (the proxy connection id if refused before one existed); an admin action's id.</param>
/// <param name="Action"><c>connect</c> for a session; <c>user add</c> / <c>user revoke</c> for an admin action.</param>
/// <param name="Operator">Who did an admin action (the operator certificate's subject); null for sessions.</param>
/// <param name="Outcome"><c>ok</c>, <c>error</c>, or <c>started</c> (an admin action recorded before it is carried out).</param>
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
    DateTimeOffset? End) : IActorVpnMessage
{
    public const string Session = "session";
    public const string Admin = "admin";

    public const string Ok = "ok";
    public const string Error = "error";
    public const string Started = "started";

    /// <summary>The tag every record carries (the whole trail, in write order).</summary>
    public const string TrailTag = "audit";

    /// <summary>The tag of one user's records: <c>audit query --user U</c> reads only these.</summary>
    public static string UserTag(string user) => "audit-user-" + user;

    /// <summary>
    /// What makes two records the same line of the trail: kind, id, action, outcome and times. A record the
    /// store committed but whose confirmation was lost in an outage is written again; readers show it once.
    /// </summary>
    public string Identity => FormattableString.Invariant($"{Kind}|{Id}|{Action}|{Outcome}|{Start.UtcTicks}|{End?.UtcTicks}");

    /// <summary>When it happened, for time filters: the end if there is one, else the start.</summary>
    public DateTimeOffset At => End ?? Start;

    public string ToText() =>
        $"{At.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {Kind,-7} {Outcome,-7} {Action,-11} user {User}" +
        (Operator is null ? string.Empty : $" by {Operator}") +
        (AuthServer is null ? string.Empty : $" at {AuthServer}") +
        (Destination is null ? string.Empty : $" to {Destination}") +
        (Route.Count == 0 ? string.Empty : $" route [{string.Join(", ", Route)}]") +
        (HandOff.Count == 0 ? string.Empty : $" hand-off [{string.Join(", ", HandOff)}]") +
        (ErrorCode is null ? string.Empty : $" error {ErrorCode}") +
        (Message is null ? string.Empty : $" ({Message})") +
        $" id {Id} start {Start.UtcDateTime:HH:mm:ss.fff}" + (End is { } end ? $" end {end.UtcDateTime:HH:mm:ss.fff}" : string.Empty) + "\n";
}
