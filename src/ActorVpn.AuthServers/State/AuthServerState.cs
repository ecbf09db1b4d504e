using System.Collections.Immutable;
using System.Numerics;
using ActorVpn.Credentials;

namespace ActorVpn.AuthServers.State;

/// <summary>A user registered at this (home) server.</summary>
/// <param name="ActiveSerials">Serial numbers of the user's certificates that are not revoked.</param>
public sealed record UserRecord(string Name, ImmutableHashSet<string> ActiveSerials, byte[] LatestCertificateDer, DateTimeOffset RegisteredAt, DateTimeOffset? RevokedAt);

/// <summary>
/// The durable state of one auth server: an immutable value, changed only by <see cref="Apply"/>.
/// Everything here is rebuilt from the journal after a restart; held (handed-off) certificates are
/// deliberately not part of it: they live for seconds and die with the process.
/// </summary>
public sealed record AuthServerState(
    string Name,
    AuthorityCreated? Authority,
    ImmutableSortedDictionary<string, UserRecord> Users,
    ImmutableSortedDictionary<string, byte[]> CredentialsIssued,
    ImmutableSortedDictionary<string, byte[]> CredentialsHeld,
    ImmutableSortedDictionary<string, ProxyEnrolled> Proxies)
{
    public static AuthServerState Empty(string name) => new(
        name,
        null,
        ImmutableSortedDictionary<string, UserRecord>.Empty,
        ImmutableSortedDictionary<string, byte[]>.Empty,
        ImmutableSortedDictionary<string, byte[]>.Empty,
        ImmutableSortedDictionary<string, ProxyEnrolled>.Empty);

    /// <summary>The signing-key rotation in progress, if any.</summary>
    public KeyRotationState? Rotation { get; init; }

    /// <summary>Anchors of keys retired by finished rotations: never trusted, kept to explain a refusal.</summary>
    public ImmutableList<RetiredAnchor> Retired { get; init; } = [];

    /// <summary>Credentials this server issued to peers for the new key of their rotation in progress.</summary>
    public ImmutableSortedDictionary<string, byte[]> CredentialsIssuedNext { get; init; } = ImmutableSortedDictionary.Create<string, byte[]>(StringComparer.Ordinal);

    /// <summary>Credentials peers issued to this server for its own new key (a rotation in progress).</summary>
    public ImmutableSortedDictionary<string, byte[]> CredentialsHeldNext { get; init; } = ImmutableSortedDictionary.Create<string, byte[]>(StringComparer.Ordinal);

    public string Phase => Rotation?.Phase ?? RotationPhase.Standby;

    public AuthServerState Apply(IAuthServerEvent evt) => evt switch
    {
        AuthorityCreated created => this with { Authority = created },
        UserRegistered registered => this with
        {
            Users = Users.SetItem(registered.User, new UserRecord(
                registered.User,
                // A new registration replaces the user's certificates: the old ones stop working.
                [SerialOf(registered.CertificateDer)],
                registered.CertificateDer,
                registered.At,
                null)),
        },
        UserRevoked revoked when Users.TryGetValue(revoked.User, out var user) => this with
        {
            Users = Users.SetItem(revoked.User, user with { ActiveSerials = [], RevokedAt = revoked.At }),
        },
        UserRevoked => this,
        PeerCredentialIssued { ForNextKey: true } issued => this with { CredentialsIssuedNext = CredentialsIssuedNext.SetItem(issued.Peer, issued.CertificateDer) },
        PeerCredentialIssued issued => this with { CredentialsIssued = CredentialsIssued.SetItem(issued.Peer, issued.CertificateDer) },
        PeerCredentialReceived { ForNextKey: true } received => this with { CredentialsHeldNext = CredentialsHeldNext.SetItem(received.Issuer, received.CertificateDer) },
        PeerCredentialReceived received => this with { CredentialsHeld = CredentialsHeld.SetItem(received.Issuer, received.CertificateDer) },
        PeerNextKeyDropped dropped => this with { CredentialsIssuedNext = CredentialsIssuedNext.Remove(dropped.Peer) },
        KeyRotationStarted started => this with
        {
            Rotation = new KeyRotationState(RotationPhase.Started, new AuthorityCreated(started.PrivateKey, started.CertificateDer, started.KeyIsProtected), started.At, started.By),
            CredentialsHeldNext = CredentialsHeldNext.Clear(),
        },
        SigningKeySwitched switched when Rotation is { } rotation => this with
        {
            Rotation = rotation with { Phase = RotationPhase.Switched, SwitchedAt = switched.At, SwitchedBy = switched.By },
        },
        KeyRotationFinished finished when Rotation is { } rotation => this with
        {
            // The new key becomes the one key; the credentials peers issued for it become the ones this server presents.
            Authority = rotation.NextKey,
            Retired = Authority is { } old ? Retired.Add(new RetiredAnchor(old.CertificateDer, finished.At)) : Retired,
            CredentialsHeld = CredentialsHeld.SetItems(CredentialsHeldNext),
            CredentialsHeldNext = CredentialsHeldNext.Clear(),
            Rotation = null,
        },
        KeyRotationRolledBack rolledBack when Rotation is { } rotation => this with
        {
            // The dropped key is never trusted again; its anchor only explains why what it signed is refused.
            Retired = Retired.Add(new RetiredAnchor(rotation.NextKey.CertificateDer, rolledBack.At)),
            Rotation = null,
            CredentialsHeldNext = CredentialsHeldNext.Clear(),
        },
        KeyRotationRolledBack => this,
        SigningKeySwitched or KeyRotationFinished => this,
        ProxyEnrolled enrolled => this with { Proxies = Proxies.SetItem(enrolled.Proxy, enrolled) },
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt.GetType().Name, "unknown auth-server event"),
    };

    /// <summary>
    /// Fig. 8 step 801 (yes-branch) after the signature check: is this certificate still good for its user? Checked on every
    /// hand-off against the current state, so a revocation bites at once.
    /// </summary>
    public UserCertificateStanding StandingOf(KnownCertificate certificate) =>
        StandingOf(certificate.SubjectName ?? string.Empty, SerialOf(certificate.SerialNumber.Span));

    private UserCertificateStanding StandingOf(string user, string serial)
    {
        if (!Users.TryGetValue(user, out var record))
        {
            return UserCertificateStanding.UnknownUser;
        }

        if (record.RevokedAt is not null || !record.ActiveSerials.Contains(serial))
        {
            return UserCertificateStanding.Revoked;
        }

        return UserCertificateStanding.Active;
    }

    /// <summary>Read from the DER alone: replaying 10,000 registrations must not load 10,000 certificates.</summary>
    public static string SerialOf(byte[] certificateDer) => SerialOf(CertificateFacts.SerialNumberOf(certificateDer).Span);

    private static string SerialOf(ReadOnlySpan<byte> serialNumber) =>
        new BigInteger(serialNumber, isUnsigned: true, isBigEndian: true).ToString("x");
}

public enum UserCertificateStanding
{
    Active,
    UnknownUser,
    Revoked,
}
