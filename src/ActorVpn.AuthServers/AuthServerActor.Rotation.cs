using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Messaging;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.AuthServers.KeyRotationProtocol;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.AuthServers;

/// <summary>
/// Rotating this server's signing key in phases (<see cref="KeyRotationProtocol"/>). The key signs certificate 1
/// of the users registered here (【0012】), the inter-server credentials this server issues (【0023】), the identities
/// of its proxies, and proves this server's identity to the servers it calls (Fig. 8 step 808 / Fig. 9 step 908). So:
/// <list type="bullet">
/// <item><c>started</c>: a new key verifies alongside the old one (step 702); the old one still signs everything.</item>
/// <item><c>switched</c>: the new key signs user certificates and inter-server credentials, and proves this server's
/// identity with the credentials its peers issued for it; the old key still verifies, and still signs proxy identities,
/// which clients check against the anchor in their profiles.</item>
/// <item>finish: the new key is the only one; whatever only the old one signed is refused (its anchor is kept, to say so).</item>
/// <item>rollback (before finish): the new key is dropped.</item>
/// </list>
/// Every phase is a persisted event, so a restart resumes the phase it was in.
/// </summary>
public sealed partial class AuthServerActor
{
    /// <summary>The key that signs user certificates and inter-server credentials now.</summary>
    private SigningAuthority Signer => _keys.SignerIn(_state.Phase);

    private void RotationCommands()
    {
        Command<StartKeyRotation>(start => Admitted(start, HandleStartRotation));
        Command<SwitchSigningKey>(switching => Admitted(switching, PersistPhase));
        Command<FinishKeyRotation>(finish => Admitted(finish, PersistPhase));
        Command<RollBackKeyRotation>(rollback => Admitted(rollback, PersistPhase));
        Command<DropPeerNextKey>(drop => Admitted(drop, HandleDropPeerNextKey));
        Command<GetKeyRotation>(_ => Sender.Tell(RotationStatus()));
    }

    private void HandleStartRotation(StartKeyRotation start)
    {
        // A new key, protected at rest exactly as the current one (AuthorityCreated).
        using var next = SigningAuthority.Create(Me, Now);
        var started = _settings.KeyProtection is { } protection
            ? new KeyRotationStarted(next.ExportEncryptedPkcs8PrivateKey(protection.Secret), next.Certificate.RawData, KeyIsProtected: true, Now, start.By)
            : new KeyRotationStarted(next.ExportPkcs8PrivateKey(), next.Certificate.RawData, KeyIsProtected: false, Now, start.By);
        PersistPhase(started, $"{Me}: signing-key rotation started by {start.By}: a new key verifies alongside the current one");
    }

    private void PersistPhase(IActorVpnMessage command)
    {
        var (phase, logLine) = KeyRotationCommands.PhaseEvent(Me, command, Now);
        PersistPhase(phase, logLine);
    }

    private void HandleDropPeerNextKey(DropPeerNextKey drop)
    {
        if (!_state.CredentialsIssuedNext.ContainsKey(drop.Caller))
        {
            Sender.Tell(new NextKeyCredentialDropped(Me, drop.Caller)); // nothing to drop: already so
            return;
        }

        var replyTo = Sender;
        Persist(new PeerNextKeyDropped(drop.Caller), evt =>
        {
            ApplyEvent(evt);
            replyTo.Tell(new NextKeyCredentialDropped(Me, evt.Peer));
        });
    }

    private void PersistPhase(IAuthServerEvent phase, string logLine)
    {
        var replyTo = Sender;
        Persist(phase, evt =>
        {
            ApplyEvent(evt);
            _log.Info(logLine);
            replyTo.Tell(RotationStatus());
        });
    }

    // ---------------------------------------------------------------- keys in use

    /// <summary>The credential to present to <paramref name="callee"/>, and whether it certifies the new key (which must then sign the proof).</summary>
    private (byte[]? Credential, bool NextKey) CredentialFor(string callee) =>
        _state.Phase == RotationPhase.Switched && _state.CredentialsHeldNext.TryGetValue(callee, out var next)
            ? (next, true)
            : (_state.CredentialsHeld.TryGetValue(callee, out var held) ? held : null, false);

    private KeyRotationStatus RotationStatus() => KeyRotationCommands.Status(_state, _topology, _keys, Now);
}
