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
    private SigningAuthority? _next; // the new key of a rotation in progress
    private List<(X509Certificate2 Anchor, DateTimeOffset RetiredAt)> _retired = [];

    /// <summary>The key that signs user certificates and inter-server credentials now.</summary>
    private SigningAuthority Signer => _state.Phase == RotationPhase.Switched && _next is not null ? _next : Authority;

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

    /// <summary>Fig. 7 step 702: issued by this server's current key, or by the new one while a rotation is in progress.</summary>
    private CertificateVerdict VerifyIssuedHere(KnownCertificate certificate, CertificateKind kind)
    {
        var verdict = Authority.Verify(certificate, kind, Now);
        return verdict == CertificateVerdict.NotIssuedHere && _next is { } next ? next.Verify(certificate, kind, Now) : verdict;
    }

    /// <summary>The retired key that signed <paramref name="certificate"/>, if one did: to refuse it for what it is, not as unknown.</summary>
    private RetiredAnchor? RetiredKeyOf(KnownCertificate certificate, CertificateKind kind)
    {
        foreach (var (anchor, retiredAt) in _retired)
        {
            if (AnchorCheck.Verify(certificate, anchor, kind, Now) is CertificateVerdict.Valid or CertificateVerdict.Expired or CertificateVerdict.NotYetValid)
            {
                return new RetiredAnchor(anchor.RawData, retiredAt);
            }
        }

        return null;
    }

    /// <summary>The credential to present to <paramref name="callee"/>, and whether it certifies the new key (which must then sign the proof).</summary>
    private (byte[]? Credential, bool NextKey) CredentialFor(string callee) =>
        _state.Phase == RotationPhase.Switched && _state.CredentialsHeldNext.TryGetValue(callee, out var next)
            ? (next, true)
            : (_state.CredentialsHeld.TryGetValue(callee, out var held) ? held : null, false);

    /// <summary>The key whose credential a hand-off presented; after a finish the new key is the current one.</summary>
    private SigningAuthority ProofKey(bool nextKey) => nextKey ? _next ?? Authority : Authority;

    private void ApplyKeyRotation(IAuthServerEvent evt)
    {
        if (evt is KeyRotationStarted or SigningKeySwitched or KeyRotationFinished or KeyRotationRolledBack)
        {
            ImportRotationKeys();
        }
    }

    /// <summary>Brings the keys in memory in line with the state (after an event or a snapshot).</summary>
    private void ImportRotationKeys()
    {
        if (_state.Authority is { } current && _authority is not null && !_authority.Certificate.RawData.AsSpan().SequenceEqual(current.CertificateDer))
        {
            // A finished rotation: the new key is now the current one.
            _authority.Dispose();
            _authority = _next is { } promoted && promoted.Certificate.RawData.AsSpan().SequenceEqual(current.CertificateDer) ? promoted : ImportKey(current);
            _next = ReferenceEquals(_authority, _next) ? null : _next;
        }

        if (_state.Rotation is { } rotation)
        {
            if (_next is null || !_next.Certificate.RawData.AsSpan().SequenceEqual(rotation.NextKey.CertificateDer))
            {
                _next?.Dispose();
                _next = ImportKey(rotation.NextKey);
            }
        }
        else
        {
            _next?.Dispose();
            _next = null;
        }

        if (_retired.Count != _state.Retired.Count)
        {
            foreach (var (anchor, _) in _retired)
            {
                anchor.Dispose();
            }

            _retired = _state.Retired.Select(r => (CertificateText.FromDer(r.CertificateDer), r.RetiredAt)).ToList();
        }
    }

    private void DisposeRotationKeys()
    {
        _next?.Dispose();
        _next = null;
        foreach (var (anchor, _) in _retired)
        {
            anchor.Dispose();
        }

        _retired = [];
    }

    private KeyRotationStatus RotationStatus()
    {
        var rotation = _state.Rotation;
        var now = Now;
        var proxiesOnOldKey = _state.Proxies.Values
            .Where(p => Authority.Verify(KnownCertificate.Read(p.CertificateDer), CertificateKind.Proxy, now) == CertificateVerdict.NotIssuedHere)
            .Select(p => p.Proxy).ToList();
        // Users registered before the switch hold a certificate of the key being retired: refused once the rotation finishes.
        var toEnrolAgain = rotation is null ? 0 : _state.Users.Values.Count(u => u.RevokedAt is null && u.ActiveSerials.Count > 0
            && (rotation.SwitchedAt is not { } switchedAt || u.RegisteredAt < switchedAt));
        return new KeyRotationStatus(Me, _state.Phase, Fingerprint(Authority.Certificate.RawData), _next is null ? null : Fingerprint(_next.Certificate.RawData),
            rotation?.StartedAt, rotation?.StartedBy, rotation?.SwitchedAt, rotation?.SwitchedBy,
            _state.Retired.Select(r => Fingerprint(r.CertificateDer)).ToList(), _state.Retired.LastOrDefault()?.RetiredAt,
            proxiesOnOldKey, toEnrolAgain, KeyRotationCommands.MissingNextCredentials(_state, _topology));
    }

    private static string Fingerprint(byte[] der) => Convert.ToHexString(SHA256.HashData(der)).ToLowerInvariant();
}
