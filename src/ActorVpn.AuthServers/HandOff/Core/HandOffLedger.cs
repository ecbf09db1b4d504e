using System.Collections.Immutable;
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
/// An immutable value: every change returns a new ledger, so each rule is a function a test calls directly.
/// </summary>
public sealed record HandOffLedger(
    ImmutableDictionary<string, HeldCertificate> Held,
    ImmutableDictionary<string, OpenChallenge> Challenges,
    ImmutableDictionary<string, IssuedRoute> Issued,
    ImmutableDictionary<string, IssuedRoute> Forwarded,
    ImmutableDictionary<string, RevokedHandOff> Revoked)
{
    public static readonly HandOffLedger Empty = new(
        ImmutableDictionary.Create<string, HeldCertificate>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, OpenChallenge>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, IssuedRoute>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, IssuedRoute>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, RevokedHandOff>(StringComparer.Ordinal));

    /// <summary>Fig. 9 step 910: hold certificate 1 until the client authenticates, or until it expires.</summary>
    public HandOffLedger Hold(HeldCertificate held) => this with { Held = Held.SetItem(held.HandOffId, held) };

    /// <summary>The certificate held for <paramref name="handOffId"/> if it is still good at <paramref name="now"/>.</summary>
    public HeldCertificate? HeldFor(string? handOffId, DateTimeOffset now) =>
        handOffId is not null && Held.TryGetValue(handOffId, out var held) && held.ExpiresAt > now ? held : null;

    /// <summary>【0045】: a held certificate is used once, then discarded; or dropped when released or expired.</summary>
    public (HandOffLedger Ledger, HeldCertificate? Dropped) Drop(string handOffId) =>
        Held.TryGetValue(handOffId, out var held) ? (this with { Held = Held.Remove(handOffId) }, held) : (this, null);

    /// <summary>
    /// 【0053】: release what this server holds for <paramref name="handOffId"/>. The other holders of a certificate held
    /// here, and the holders of a route forwarded from here, are told in turn; the certificate held here is dropped.
    /// </summary>
    public (HandOffLedger Ledger, Released Released) Release(string handOffId, string me)
    {
        var tell = new List<string>();
        if (Held.TryGetValue(handOffId, out var held))
        {
            tell.AddRange(held.Holders.Where(h => h != me));
        }

        var ledger = this;
        if (Forwarded.TryGetValue(handOffId, out var forwarded))
        {
            tell.AddRange(forwarded.Holders);
            ledger = ledger with { Forwarded = Forwarded.Remove(handOffId) };
        }

        var (dropped, certificate) = ledger.Drop(handOffId);
        return (dropped, new Released(tell, certificate));
    }

    /// <summary>Fig. 9 step 906: remember the nonce sent to a caller.</summary>
    public HandOffLedger Challenge(byte[] nonce, OpenChallenge challenge) =>
        this with { Challenges = Challenges.SetItem(Convert.ToBase64String(nonce), challenge) };

    /// <summary>
    /// The challenge a <see cref="HandOffProtocol.HandOffCertificate"/> answers, removed whatever the outcome (one use):
    /// null when there is none open for that nonce, it expired, or it was sent to another caller or for another hand-off.
    /// </summary>
    public (HandOffLedger Ledger, OpenChallenge? Challenge) TakeChallenge(byte[] nonce, string caller, string handOffId, DateTimeOffset now)
    {
        var key = Convert.ToBase64String(nonce);
        if (!Challenges.TryGetValue(key, out var challenge))
        {
            return (this, null);
        }

        var ledger = this with { Challenges = Challenges.Remove(key) };
        return challenge.ExpiresAt > now && challenge.Caller == caller && challenge.HandOffId == handOffId ? (ledger, challenge) : (ledger, null);
    }

    /// <summary>Fig. 8 step 811: the route given to the entry proxy, released when its session ends.</summary>
    public HandOffLedger Issue(string handOffId, IssuedRoute route) => this with { Issued = Issued.SetItem(handOffId, route) };

    /// <summary>The session of <paramref name="handOffId"/> ended at its entry proxy: the holders to release, if the route is known.</summary>
    public (HandOffLedger Ledger, IssuedRoute? Route) EndSession(string handOffId) =>
        Issued.TryGetValue(handOffId, out var issued) ? (this with { Issued = Issued.Remove(handOffId) }, issued) : (this, null);

    /// <summary>【0036】: certificate 1 passed through without being held; the holders further on are remembered for a release.</summary>
    public HandOffLedger Forward(string handOffId, IssuedRoute route) => this with { Forwarded = Forwarded.SetItem(handOffId, route) };

    /// <summary>A hand-off ended by its user's revocation (the first reason is kept).</summary>
    public HandOffLedger RememberRevoked(string handOffId, RevokedHandOff revoked) =>
        Revoked.ContainsKey(handOffId) ? this : this with { Revoked = Revoked.Add(handOffId, revoked) };

    /// <summary>Forgets whatever is past its time at <paramref name="now"/>; returns the held certificates dropped.</summary>
    public (HandOffLedger Ledger, Expired Expired) Expire(DateTimeOffset now)
    {
        var dropped = Held.Values.Where(h => h.ExpiresAt <= now).ToList();
        var ledger = new HandOffLedger(
            Held.RemoveRange(dropped.Select(h => h.HandOffId)),
            Challenges.RemoveRange(Challenges.Where(c => c.Value.ExpiresAt <= now).Select(c => c.Key)),
            Issued.RemoveRange(Issued.Where(i => i.Value.ExpiresAt <= now).Select(i => i.Key)),
            Forwarded.RemoveRange(Forwarded.Where(i => i.Value.ExpiresAt <= now).Select(i => i.Key)),
            Revoked.RemoveRange(Revoked.Where(r => r.Value.ExpiresAt <= now).Select(r => r.Key)));
        return (ledger, new Expired(dropped));
    }
}
