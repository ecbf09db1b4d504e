using System.Collections.Immutable;
using System.Numerics;
using System.Security.Cryptography.X509Certificates;
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
        PeerCredentialIssued issued => this with { CredentialsIssued = CredentialsIssued.SetItem(issued.Peer, issued.CertificateDer) },
        PeerCredentialReceived received => this with { CredentialsHeld = CredentialsHeld.SetItem(received.Issuer, received.CertificateDer) },
        ProxyEnrolled enrolled => this with { Proxies = Proxies.SetItem(enrolled.Proxy, enrolled) },
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt.GetType().Name, "unknown auth-server event"),
    };

    /// <summary>Fig. 8 step 801 (yes-branch) after the signature check: is this certificate still good for its user?</summary>
    public UserCertificateStanding StandingOf(X509Certificate2 certificate) =>
        StandingOf(CertificateFacts.SubjectName(certificate), SerialOf(certificate));

    /// <summary>Checked on every hand-off against the current state, so a revocation bites at once.</summary>
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

    public static string SerialOf(X509Certificate2 certificate) => SerialOf(certificate.SerialNumberBytes.Span);

    private static string SerialOf(ReadOnlySpan<byte> serialNumber) =>
        new BigInteger(serialNumber, isUnsigned: true, isBigEndian: true).ToString("x");
}

public enum UserCertificateStanding
{
    Active,
    UnknownUser,
    Revoked,
}
