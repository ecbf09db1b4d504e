using ActorVpn.Protocol;
using Akka.Event;

namespace ActorVpn.Proxies;

/// <summary>
/// One session attempt as the entry proxy saw it (Fig. 6 at the first proxy of the route: 601 the
/// request, 604 the home server's answer, 609 the end), published on the node's event stream for
/// the audit trail to write durably. Only the entry proxy publishes: one attempt, one record.
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

/// <summary>
/// A connection that failed before any auth server confirmed who is at the other end (Fig. 6, steps 601-604): a certificate
/// its auth server did not verify, a hand-off it holds nothing for, a bad frame, a deadline. Whatever name the certificate
/// carries is only a claim, so it never becomes a user's record: the audit trail aggregates these by peer and certificate.
/// </summary>
/// <param name="Fingerprint">Lower-case hex SHA-256 of the certificate the peer presented in its TLS handshake.</param>
/// <param name="ClaimedName">The certificate's subject name as the peer wrote it: hostile text, to be escaped wherever shown.</param>
public sealed record UnauthenticatedAttemptObserved(
    string Proxy,
    string PeerAddress,
    string Fingerprint,
    string? ClaimedName,
    string Code,
    string Message,
    DateTimeOffset At);

/// <summary>
/// What one proxy connection reports to the audit trail. Only the entry proxy of a session writes its records, and a
/// proxy knows it is the entry only from its auth server: the user's home server answered (<c>AtHome</c>) or refused a
/// certificate it verified (<c>VerifiedUser</c>). Every other failure before authentication is reported as
/// unauthenticated, whatever the client claimed.
/// </summary>
internal sealed class SessionAudit(EventStream events, string proxy, SessionCounters counters, string peerAddress)
{
    private string? _destination;
    private string? _claimed;
    private string? _fingerprint;
    private DateTimeOffset _start = DateTimeOffset.UtcNow;
    private bool _entry;
    private bool _reported;
    private bool _ended;
    private ClientAuthProtocol.ClientAuthenticated? _session;

    /// <summary>Fig. 6 step 601: the TLS handshake is done; the certificate is not verified yet, only present.</summary>
    public void Presented(byte[] certificateDer, string? claimedName)
    {
        _fingerprint = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(certificateDer));
        _claimed = claimedName;
    }

    /// <summary>Fig. 6 step 602: an authentication request.</summary>
    public void Requested(string destination)
    {
        _destination = destination;
        _start = DateTimeOffset.UtcNow;
    }

    public void Authenticated(ClientAuthProtocol.ClientAuthenticated session)
    {
        _session = session;
        _entry = session.AtHome;
        if (_entry)
        {
            Publish("ok", null, null, null, end: null, session.User);
        }
        else
        {
            _reported = true; // a later hop of a route its entry proxy records
        }
    }

    /// <param name="verifiedUser">The user whose certificate its home server verified before refusing it; null if none did.</param>
    public void Refused(string code, string at, string message, string? verifiedUser = null)
    {
        if (_reported)
        {
            return;
        }

        if (verifiedUser is not null)
        {
            _entry = true;
            Publish("error", code, at, message, DateTimeOffset.UtcNow, verifiedUser);
            return;
        }

        Unauthenticated(code, message);
    }

    /// <summary>
    /// 【0053】: the session was closed from outside for a reason with an error code (its user revoked): an entry session
    /// authenticated here ends with an <c>error</c> record carrying the code; one not yet authenticated is refused with it.
    /// </summary>
    public void Closed(string code, string at, string message)
    {
        if (_entry && _session is not null && !_ended)
        {
            _ended = true;
            Publish("error", code, at, message, DateTimeOffset.UtcNow, _session.User);
            return;
        }

        Refused(code, at, message);
    }

    /// <summary>Fig. 6 step 609: an authenticated session is over; its end time goes into the trail.</summary>
    public void Ended()
    {
        if (_ended)
        {
            return;
        }

        if (_entry && _session is not null)
        {
            Publish("ok", null, null, "session ended", DateTimeOffset.UtcNow, _session.User);
        }
        else if (!_reported)
        {
            Unauthenticated(ErrorCodes.Unreachable, "the connection closed before the auth server answered");
        }
    }

    private void Unauthenticated(string code, string message)
    {
        _reported = true;
        if (_fingerprint is null)
        {
            return; // no TLS handshake finished: no certificate to name, nothing was claimed
        }

        events.Publish(new UnauthenticatedAttemptObserved(proxy, peerAddress, _fingerprint, _claimed, code, message, DateTimeOffset.UtcNow));
    }

    private void Publish(string outcome, string? code, string? at, string? message, DateTimeOffset? end, string user)
    {
        _reported = true;
        var route = _session is null ? [] : _session.Route.Select(r => r.Proxy).Prepend(proxy).ToList();
        events.Publish(new SessionAttemptObserved(_session?.HandOffId ?? counters.Id, user, _destination ?? "?", proxy,
            route, _session?.HandOffPath ?? [], outcome, code, at, message, _start, end,
            Interlocked.Read(ref counters.Relay.BytesAToB), Interlocked.Read(ref counters.Relay.BytesBToA)));
    }
}
