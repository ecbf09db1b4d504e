using ActorVpn.Protocol;

namespace ActorVpn.AuthServers.HandOff.Core;

/// <summary>Certificate 1 held after Fig. 9 step 910 until the client authenticates at this server's relay proxy.</summary>
/// <param name="Route">The relay route from this server's proxy on (this server's proxy first).</param>
/// <param name="Holders">The servers holding certificate 1 for this hand-off, this one first.</param>
public sealed record HeldCertificate(
    string HandOffId,
    byte[] CertificateDer,
    string User,
    string Destination,
    string RelayProxy,
    IReadOnlyList<RouteEntry> Route,
    IReadOnlyList<string> Path,
    IReadOnlyList<string> Holders,
    DateTimeOffset HeldSince,
    DateTimeOffset ExpiresAt);

/// <summary>A nonce this server sent at Fig. 9 step 906: answered once, by the caller it was sent to, for that hand-off.</summary>
public sealed record OpenChallenge(string Caller, string HandOffId, byte[] CredentialDer, DateTimeOffset ExpiresAt);

/// <summary>A route this server handed on: whom to release when the session ends or the user is revoked (【0053】).</summary>
/// <param name="User">The user whose certificate 1 was handed off: set at the home server, for the routes it issued.</param>
public sealed record IssuedRoute(IReadOnlyList<string> Holders, DateTimeOffset ExpiresAt, string? User = null);

/// <summary>A hand-off ended by its user's revocation; <paramref name="CertificateDer"/> is certificate 1 as held here, if it was.</summary>
public sealed record RevokedHandOff(string User, string Home, byte[]? CertificateDer, DateTimeOffset ExpiresAt);

/// <summary>What a release (【0053】) frees at this server: the servers to tell, and the certificate dropped here, if any.</summary>
public sealed record Released(IReadOnlyList<string> TellHolders, HeldCertificate? Dropped);

/// <summary>What expired at one sweep: held certificates to drop (the client never came).</summary>
public sealed record Expired(IReadOnlyList<HeldCertificate> Dropped);

/// <summary>
/// The short-lived hand-off bookkeeping of one auth server, deliberately not persisted: certificates held (Fig. 9, step 910),
/// open challenges (step 906), routes issued (Fig. 8, step 811) or forwarded (【0036】), and hand-offs ended by a revocation.
/// </summary>
/// <remarks>
/// Single-owner and mutable: exactly one auth-server actor owns a ledger and changes it only while it handles a message, so
/// no other thread ever sees it. Every rule is a method that changes the ledger and returns what it decided, so a test calls
/// it directly. Each operation is O(1) (a hash look-up) or, for expiry, O(log n) per entry expired: at thousands of hand-offs
/// a second whose sessions last, an auth server holds a hundred thousand routes, and a persistent tree or a scan of them all
/// at every sweep costs more than the hand-off itself.
/// </remarks>
public class HandOffLedger
{
    private readonly ExpiringMap<HeldCertificate> _held = new(h => h.ExpiresAt);
    private readonly ExpiringMap<OpenChallenge> _challenges = new(c => c.ExpiresAt);
    private readonly ExpiringMap<IssuedRoute> _issued = new(i => i.ExpiresAt);
    private readonly ExpiringMap<IssuedRoute> _forwarded = new(i => i.ExpiresAt);
    private readonly ExpiringMap<RevokedHandOff> _revoked = new(r => r.ExpiresAt);

    /// <summary>Certificates 1 held here, by hand-off id.</summary>
    public IReadOnlyDictionary<string, HeldCertificate> Held => _held.Entries;

    /// <summary>Open challenges, by the nonce in base64.</summary>
    public IReadOnlyDictionary<string, OpenChallenge> Challenges => _challenges.Entries;

    /// <summary>Routes issued by this (home) server, by hand-off id.</summary>
    public IReadOnlyDictionary<string, IssuedRoute> Issued => _issued.Entries;

    /// <summary>Routes passed through without holding (【0036】), by hand-off id.</summary>
    public IReadOnlyDictionary<string, IssuedRoute> Forwarded => _forwarded.Entries;

    /// <summary>Hand-offs ended by a revocation, by hand-off id.</summary>
    public IReadOnlyDictionary<string, RevokedHandOff> Revoked => _revoked.Entries;

    /// <summary>Fig. 9 step 910: hold certificate 1 until the client authenticates, or until it expires.</summary>
    public void Hold(HeldCertificate held) => _held.Set(held.HandOffId, held);

    /// <summary>The certificate held for <paramref name="handOffId"/> if it is still good at <paramref name="now"/>.</summary>
    public HeldCertificate? HeldFor(string? handOffId, DateTimeOffset now) =>
        handOffId is not null && _held.Entries.TryGetValue(handOffId, out var held) && held.ExpiresAt > now ? held : null;

    /// <summary>【0045】: a held certificate is used once, then discarded; or dropped when released or expired.</summary>
    public HeldCertificate? Drop(string handOffId) => _held.Remove(handOffId);

    /// <summary>
    /// 【0053】: release what this server holds for <paramref name="handOffId"/>. The other holders of a certificate held
    /// here, and the holders of a route forwarded from here, are told in turn; the certificate held here is dropped.
    /// </summary>
    public virtual Released Release(string handOffId, string me)
    {
        var tell = new List<string>();
        var held = _held.Remove(handOffId);
        if (held is not null)
        {
            tell.AddRange(held.Holders.Where(h => h != me));
        }

        if (_forwarded.Remove(handOffId) is { } forwarded)
        {
            tell.AddRange(forwarded.Holders);
        }

        return new Released(tell, held);
    }

    /// <summary>Fig. 9 step 906: remember the nonce sent to a caller.</summary>
    public void Challenge(byte[] nonce, OpenChallenge challenge) => _challenges.Set(Convert.ToBase64String(nonce), challenge);

    /// <summary>
    /// The challenge a <see cref="HandOffProtocol.HandOffCertificate"/> answers, removed whatever the outcome (one use):
    /// null when there is none open for that nonce, it expired, or it was sent to another caller or for another hand-off.
    /// </summary>
    public OpenChallenge? TakeChallenge(byte[] nonce, string caller, string handOffId, DateTimeOffset now) =>
        _challenges.Remove(Convert.ToBase64String(nonce)) is { } challenge
        && challenge.ExpiresAt > now && challenge.Caller == caller && challenge.HandOffId == handOffId
            ? challenge
            : null;

    /// <summary>Fig. 8 step 811: the route given to the entry proxy, released when its session ends.</summary>
    public void Issue(string handOffId, IssuedRoute route) => _issued.Set(handOffId, route);

    /// <summary>The session of <paramref name="handOffId"/> ended at its entry proxy: the holders to release, if the route is known.</summary>
    public IssuedRoute? EndSession(string handOffId) => _issued.Remove(handOffId);

    /// <summary>【0036】: certificate 1 passed through without being held; the holders further on are remembered for a release.</summary>
    public void Forward(string handOffId, IssuedRoute route) => _forwarded.Set(handOffId, route);

    /// <summary>A hand-off ended by its user's revocation (the first reason is kept).</summary>
    public void RememberRevoked(string handOffId, RevokedHandOff revoked)
    {
        if (!_revoked.Entries.ContainsKey(handOffId))
        {
            _revoked.Set(handOffId, revoked);
        }
    }

    /// <summary>
    /// 【0053】 at the home server: the routes issued for <paramref name="user"/>'s hand-offs, ended here at once (the user
    /// was revoked), with the holders to release.
    /// </summary>
    public IReadOnlyList<(string HandOffId, IssuedRoute Route)> EndSessionsOf(string user)
    {
        var ended = _issued.Entries.Where(i => i.Value.User == user).Select(i => (i.Key, i.Value)).ToList();
        foreach (var (handOffId, _) in ended)
        {
            _issued.Remove(handOffId);
        }

        return ended;
    }

    /// <summary>Forgets whatever is past its time at <paramref name="now"/>; returns the held certificates dropped.</summary>
    public Expired Expire(DateTimeOffset now)
    {
        var dropped = _held.Expire(now);
        _challenges.Expire(now);
        _issued.Expire(now);
        _forwarded.Expire(now);
        _revoked.Expire(now);
        return new Expired(dropped);
    }

    /// <summary>
    /// A map whose entries each expire at a time of their own. Expiry pops a min-heap of (expiry, key) instead of scanning the
    /// map: an entry removed or replaced before its time leaves its heap item behind, which is skipped when it comes up.
    /// </summary>
    private sealed class ExpiringMap<TValue>(Func<TValue, DateTimeOffset> expiresAt)
        where TValue : class
    {
        private readonly Dictionary<string, TValue> _entries = new(StringComparer.Ordinal);
        private readonly PriorityQueue<string, DateTimeOffset> _byExpiry = new();

        public IReadOnlyDictionary<string, TValue> Entries => _entries;

        public void Set(string key, TValue value)
        {
            _entries[key] = value;
            _byExpiry.Enqueue(key, expiresAt(value));
        }

        public TValue? Remove(string key) => _entries.Remove(key, out var value) ? value : null;

        public List<TValue> Expire(DateTimeOffset now)
        {
            var expired = new List<TValue>();
            while (_byExpiry.TryPeek(out var key, out var at) && at <= now)
            {
                _byExpiry.Dequeue();
                // The entry may be gone (used, released) or replaced by one that expires later, with its own heap item.
                if (_entries.TryGetValue(key, out var value) && expiresAt(value) <= now)
                {
                    _entries.Remove(key);
                    expired.Add(value);
                }
            }

            // Items of entries long gone would otherwise pile up when entries are removed early and replaced often.
            if (_byExpiry.Count > 1024 && _byExpiry.Count > 4 * _entries.Count)
            {
                _byExpiry.Clear();
                foreach (var (key, value) in _entries)
                {
                    _byExpiry.Enqueue(key, expiresAt(value));
                }
            }

            return expired;
        }
    }
}
