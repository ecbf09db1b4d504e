using ActorVpn.AuthServers.HandOff;
using Akka.Event;

namespace ActorVpn.Proxies;

/// <summary>
/// One session attempt as the entry proxy saw it (Fig. 6 at the first proxy of the route: 601 the
/// request, 604 the home server's answer, 609 the end), published on the node's event stream for
/// the audit trail (issue #5) to write durably. Only the entry proxy publishes: one attempt, one record.
/// </summary>
/// <param name="Outcome"><c>ok</c> (authenticated; <paramref name="End"/> set when the session has ended) or <c>error</c>.</param>
public sealed record SessionAttemptObserved(
    string SessionId,
    string User,
    string Destination,
    string EntryProxy,
    IReadOnlyList<string> Route,
    IReadOnlyList<string> HandOffPath,
    string Outcome,
    string? ErrorCode,
    string? ErrorAt,
    string? Message,
    DateTimeOffset Start,
    DateTimeOffset? End,
    long BytesIn = 0,
    long BytesOut = 0);

/// <summary>What one proxy connection reports to the audit trail; a no-op at every proxy but the entry one.</summary>
internal sealed class SessionAudit(EventStream events, string proxy, SessionCounters counters)
{
    private string? _user;
    private string? _destination;
    private DateTimeOffset _start;
    private bool _entry;
    private bool _reported;
    private ClientAuthProtocol.ClientAuthenticated? _session;

    /// <summary>Fig. 6 step 602: an authentication request; at the entry proxy it carries no hand-off id.</summary>
    public void Requested(string user, string destination, string? handOffId)
    {
        _entry = handOffId is null;
        _user = user;
        _destination = destination;
        _start = DateTimeOffset.UtcNow;
    }

    public void Authenticated(ClientAuthProtocol.ClientAuthenticated session)
    {
        if (!_entry)
        {
            return;
        }

        _session = session;
        Publish("ok", null, null, null, end: null);
    }

    public void Refused(string code, string at, string message)
    {
        if (_entry && !_reported)
        {
            Publish("error", code, at, message, DateTimeOffset.UtcNow);
        }
    }

    /// <summary>Fig. 6 step 609: an authenticated session is over; its end time goes into the trail.</summary>
    public void Ended()
    {
        if (_entry && _session is not null)
        {
            Publish("ok", null, null, "session ended", DateTimeOffset.UtcNow);
        }
        else if (_entry && !_reported)
        {
            Publish("error", ErrorCodes.Unreachable, proxy, "the connection closed before the home server answered", DateTimeOffset.UtcNow);
        }
    }

    private void Publish(string outcome, string? code, string? at, string? message, DateTimeOffset? end)
    {
        _reported = true;
        var route = _session is null ? [] : _session.Route.Select(r => r.Proxy).Prepend(proxy).ToList();
        events.Publish(new SessionAttemptObserved(_session?.HandOffId ?? counters.Id, _session?.User ?? _user ?? "?", _destination ?? "?", proxy,
            route, _session?.HandOffPath ?? [], outcome, code, at, message, _start, end,
            Interlocked.Read(ref counters.Relay.BytesAToB), Interlocked.Read(ref counters.Relay.BytesBToA)));
    }
}
