using ActorVpn.Messaging;

namespace ActorVpn.Protocol;

/// <summary>Administration of one auth server: registration, revocation, trust bootstrap, enrolment, inspection.</summary>
[WireName("ActorVpn.AuthServers", "ActorVpn.AuthServers")]
public static class AuthServerAdmin
{
    /// <summary>Register a user here, at its home server, and issue certificate 1 for its public key (【0012】).</summary>
    public sealed record RegisterUser(string User, byte[] SubjectPublicKeyInfo, string By = "topology", TimeSpan? Lifetime = null) : IActorVpnMessage;

    /// <param name="TrustAnchorDer">The anchor the home server's proxy identities are signed by: the client checks its entry proxy against it.</param>
    /// <param name="NextTrustAnchorDer">While the home server rotates its signing key, the new key's anchor: proxy identities move to it when the rotation finishes.</param>
    public sealed record UserCertificateIssued(string User, byte[] CertificateDer, byte[] TrustAnchorDer, byte[]? NextTrustAnchorDer = null) : IActorVpnMessage;

    /// <summary>Revoke every certificate of a user: new sessions are refused at once.</summary>
    public sealed record RevokeUser(string User, string By = "operator") : IActorVpnMessage;

    public sealed record UserRevokedAck(string User) : IActorVpnMessage;

    /// <summary>
    /// Published on the event stream of the auth server's system once a revocation is persisted, so
    /// whatever carries live sessions (every proxy, on every node of a cluster) closes the user's (【0053】).
    /// </summary>
    public sealed record UserRevokedNotice(string User, string AuthServer) : IActorVpnMessage;

    /// <summary>【0023】: issue an inter-server credential to <paramref name="Caller"/> for its signing key.</summary>
    /// <param name="ForNextKey">For the new key of a caller that rotates its signing key: accepted alongside the caller's current credential.</param>
    public sealed record IssuePeerCredential(string Caller, byte[] CallerPublicKeyInfo, bool ForNextKey = false) : IActorVpnMessage;

    public sealed record PeerCredential(string Issuer, string Holder, byte[] CertificateDer) : IActorVpnMessage;

    /// <summary>【0023】: keep a credential another server issued to this one.</summary>
    /// <param name="ForNextKey">It certifies this server's new signing key (a rotation in progress).</param>
    public sealed record AcceptPeerCredential(string Issuer, byte[] CertificateDer, bool ForNextKey = false) : IActorVpnMessage;

    public sealed record PeerCredentialAccepted(string Issuer) : IActorVpnMessage;

    /// <summary>Issue a proxy its TLS identity for its public key (the proxy keeps its private key).</summary>
    /// <param name="ListenAddress">Where the proxy really listens (its topology address, or the port it was given).</param>
    public sealed record EnrollProxy(string Proxy, byte[] SubjectPublicKeyInfo, string? ListenAddress = null) : IActorVpnMessage;

    public sealed record ProxyIdentityIssued(string Proxy, byte[] CertificateDer, byte[] TrustAnchorDer) : IActorVpnMessage;

    /// <summary>
    /// Where a proxy this server manages listens, as it said when it enrolled (Fig. 3: the relay proxy
    /// this server vouches for on routes). Answered with <see cref="ProxyEnrolment"/>, or
    /// <see cref="AdminRefused"/> while the proxy has not enrolled. A client's entry address comes from
    /// here when no external address is advertised for the proxy.
    /// </summary>
    public sealed record FindProxy(string Proxy) : IActorVpnMessage;

    public sealed record ProxyEnrolment(string Proxy, string Address) : IActorVpnMessage;

    /// <summary>A refused administrative command, with a reason a person can act on.</summary>
    public sealed record AdminRefused(string Reason) : IActorVpnMessage;

    /// <summary>Is this user registered here? Answered with a <see cref="UserView"/> or <see cref="AdminRefused"/>.</summary>
    public sealed record FindUser(string User) : IActorVpnMessage;

    public sealed record GetIdentity : IActorVpnMessage
    {
        public static readonly GetIdentity Instance = new();
    }

    /// <summary>Who this server is and whose credentials it holds.</summary>
    /// <param name="PublicKeyInfo">The key the credentials in <paramref name="CredentialsHeld"/> certify (during a rotation: the old key, until it finishes).</param>
    /// <param name="NextPublicKeyInfo">During a rotation, the new key; <paramref name="CredentialsHeldNext"/> certify it.</param>
    public sealed record AuthServerIdentity(
        string Name,
        string? UpperServer,
        byte[] TrustAnchorDer,
        byte[] PublicKeyInfo,
        IReadOnlyDictionary<string, byte[]> CredentialsHeld,
        byte[]? NextPublicKeyInfo = null,
        IReadOnlyDictionary<string, byte[]>? CredentialsHeldNext = null) : IActorVpnMessage;

    public sealed record GetStatus : IActorVpnMessage
    {
        public static readonly GetStatus Instance = new();
    }

    public sealed record HeldCertificateView(string HandOffId, string User, string Destination, string RelayProxy, DateTimeOffset HeldSince, DateTimeOffset ExpiresAt) : IActorVpnMessage;

    public sealed record UserView(string Name, DateTimeOffset RegisteredAt, DateTimeOffset? RevokedAt, int ActiveCertificates) : IActorVpnMessage;

    /// <summary>Everything an operator wants to see of one auth server (console `auth show`).</summary>
    public sealed record AuthServerStatus(
        string Name,
        string? UpperServer,
        IReadOnlyList<string> Members,
        IReadOnlyDictionary<string, string> Routes,
        IReadOnlyDictionary<string, string> Relays,
        IReadOnlyList<string> CredentialsIssuedTo,
        IReadOnlyList<string> CredentialsHeldFrom,
        IReadOnlyList<UserView> Users,
        IReadOnlyList<HeldCertificateView> Held,
        int PendingHandOffs,
        IReadOnlyDictionary<string, string> ProxyPins) : IActorVpnMessage;
}
