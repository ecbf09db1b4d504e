using ActorVpn.Messaging;
using ActorVpn.Protocol;

namespace ActorVpn.AuthServers;

/// <summary>
/// Rotating an auth server's signing key in phases, so that nothing signed or in flight breaks on the way
/// (standby → started → switched → standby, or back with a rollback). Each phase command is answered with the
/// <see cref="KeyRotationStatus"/> after it, or with <see cref="AuthServerAdmin.AdminRefused"/>.
/// </summary>
public static class KeyRotationProtocol
{
    /// <summary>Create a new signing key, trusted alongside the current one from now on; the current one still signs.</summary>
    public sealed record StartKeyRotation(string By) : IActorVpnMessage;

    /// <summary>The new key signs user certificates and inter-server credentials from now on; the old one still verifies.</summary>
    public sealed record SwitchSigningKey(string By) : IActorVpnMessage;

    /// <summary>Drop the old key: whatever only it signed is refused from now on; proxy identities are signed by the new one.</summary>
    public sealed record FinishKeyRotation(string By) : IActorVpnMessage;

    /// <summary>Undo a rotation that has not finished: the new key is dropped, the old one signs everything again.</summary>
    public sealed record RollBackKeyRotation(string By) : IActorVpnMessage;

    /// <summary>An inspection: answered with <see cref="KeyRotationStatus"/>, changes nothing.</summary>
    public sealed record GetKeyRotation : IActorVpnMessage
    {
        public static readonly GetKeyRotation Instance = new();
    }

    /// <summary>A peer's rotation finished or was undone: stop accepting the credential issued for its new key.</summary>
    public sealed record DropPeerNextKey(string Caller) : IActorVpnMessage;

    public sealed record NextKeyCredentialDropped(string Issuer, string Caller) : IActorVpnMessage;

    /// <summary>Where one auth server's key rotation stands.</summary>
    /// <param name="Phase"><c>standby</c>, <c>started</c> or <c>switched</c>.</param>
    /// <param name="CurrentAnchorSha256">SHA-256 (hex) of the current key's certificate: the anchor in profiles written before the rotation.</param>
    /// <param name="NextAnchorSha256">SHA-256 (hex) of the new key's certificate, during a rotation.</param>
    /// <param name="ProxiesOnOldKey">Proxies whose identity is not signed by the one key after a finished rotation (they renew it on request).</param>
    /// <param name="UsersToEnrolAgain">Active users whose certificate the key being retired signed: refused once the rotation finishes.</param>
    /// <param name="PeersMissingNextCredential">Servers that trust this one but have not issued a credential for its new key yet.</param>
    public sealed record KeyRotationStatus(
        string Name,
        string Phase,
        string CurrentAnchorSha256,
        string? NextAnchorSha256,
        DateTimeOffset? StartedAt,
        string? StartedBy,
        DateTimeOffset? SwitchedAt,
        string? SwitchedBy,
        IReadOnlyList<string> RetiredAnchorsSha256,
        DateTimeOffset? LastRetiredAt,
        IReadOnlyList<string> ProxiesOnOldKey,
        int UsersToEnrolAgain,
        IReadOnlyList<string> PeersMissingNextCredential) : IActorVpnMessage;
}
