using ActorVpn.Messaging;

namespace ActorVpn.AuthServers.State;

/// <summary>What an auth server must never forget, as persisted events (Akka.Persistence).</summary>
public interface IAuthServerEvent : IActorVpnMessage;

/// <summary>The server's own signing authority (key + self-signed CA certificate) was created.</summary>
/// <param name="PrivateKey">PKCS#8, as protected by the node's <c>IKeyProtector</c>.</param>
[PersistedAs("as-authority-created")]
public sealed record AuthorityCreated(byte[] PrivateKey, byte[] CertificateDer, bool KeyIsProtected) : IAuthServerEvent;

/// <summary>A user registered here, its home server, received certificate 1 (【0012】).</summary>
[PersistedAs("as-user-registered")]
public sealed record UserRegistered(string User, byte[] CertificateDer, DateTimeOffset At, string By) : IAuthServerEvent;

/// <summary>A user's certificates were revoked: no new session is authorised for them.</summary>
[PersistedAs("as-user-revoked")]
public sealed record UserRevoked(string User, DateTimeOffset At, string By) : IAuthServerEvent;

/// <summary>【0023】: this server issued an inter-server credential to <paramref name="Peer"/>, so that peer may call it.</summary>
/// <param name="ForNextKey">Issued for the new key of a peer that is rotating its signing key: accepted alongside the peer's current credential.</param>
[PersistedAs("as-peer-credential-issued")]
public sealed record PeerCredentialIssued(string Peer, byte[] CertificateDer, bool ForNextKey = false) : IAuthServerEvent;

/// <summary>【0023】: this server received a credential issued by <paramref name="Issuer"/>, so it may call that server.</summary>
/// <param name="ForNextKey">It certifies this server's new signing key (a rotation in progress): presented once the new key signs.</param>
[PersistedAs("as-peer-credential-received")]
public sealed record PeerCredentialReceived(string Issuer, byte[] CertificateDer, bool ForNextKey = false) : IAuthServerEvent;

/// <summary>A proxy this server manages was issued its TLS identity; routes vouch for it by pin.</summary>
[PersistedAs("as-proxy-enrolled")]
public sealed record ProxyEnrolled(string Proxy, byte[] CertificateDer, string Pin, string? ListenAddress = null) : IAuthServerEvent;
