using ActorVpn.Messaging;

namespace ActorVpn.AuthServers.State;

/// <summary>Where an auth server's signing-key rotation stands; no rotation is <c>standby</c>.</summary>
public static class RotationPhase
{
    /// <summary>No rotation: one key signs and verifies.</summary>
    public const string Standby = "standby";

    /// <summary>A new key exists and verifies alongside the current one; the current one still signs everything.</summary>
    public const string Started = "started";

    /// <summary>The new key signs user certificates and inter-server credentials; the old one still verifies and still signs proxy identities.</summary>
    public const string Switched = "switched";
}

/// <summary>A rotation in progress: the new key (protected at rest as the current one is) and who moved it along when.</summary>
public sealed record KeyRotationState(
    string Phase,
    AuthorityCreated NextKey,
    DateTimeOffset StartedAt,
    string StartedBy,
    DateTimeOffset? SwitchedAt = null,
    string? SwitchedBy = null);

/// <summary>
/// The certificate of a signing key this server no longer trusts (retired by a finished rotation, or dropped by a rollback),
/// kept only to say why a certificate it signed is refused.
/// </summary>
public sealed record RetiredAnchor(byte[] CertificateDer, DateTimeOffset RetiredAt);

/// <summary>
/// A rotation started: a new signing key (encrypted with the key secret, as <see cref="AuthorityCreated"/>) that
/// verifies alongside the current one from now on, but signs nothing yet.
/// </summary>
[PersistedAs("as-key-rotation-started")]
public sealed record KeyRotationStarted(byte[] PrivateKey, byte[] CertificateDer, bool KeyIsProtected, DateTimeOffset At, string By) : IAuthServerEvent;

/// <summary>The new key signs user certificates (certificate 1) and inter-server credentials from now on; the old one still verifies.</summary>
[PersistedAs("as-key-switched")]
public sealed record SigningKeySwitched(DateTimeOffset At, string By) : IAuthServerEvent;

/// <summary>The rotation finished: the new key is the only one; whatever only the old key signed is refused from now on.</summary>
[PersistedAs("as-key-rotation-finished")]
public sealed record KeyRotationFinished(DateTimeOffset At, string By) : IAuthServerEvent;

/// <summary>The rotation was undone before it finished: the new key is dropped and the old one is the only one again.</summary>
[PersistedAs("as-key-rotation-rolled-back")]
public sealed record KeyRotationRolledBack(DateTimeOffset At, string By) : IAuthServerEvent;

/// <summary>A peer's rotation finished or was undone: the credential this server issued for the peer's next key is no longer accepted.</summary>
[PersistedAs("as-peer-next-key-dropped")]
public sealed record PeerNextKeyDropped(string Peer) : IAuthServerEvent;
