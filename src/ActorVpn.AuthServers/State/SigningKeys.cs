using System.Security.Cryptography.X509Certificates;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Credentials;

namespace ActorVpn.AuthServers.State;

/// <summary>
/// The signing keys of one auth server in memory, kept in line with its durable state (<see cref="AuthServerState"/>): the
/// current key, the new key of a rotation in progress (<see cref="KeyRotationProtocol"/>), and the anchors of retired keys.
/// Single-owner: the auth-server actor that owns it imports, uses and disposes the keys while it handles a message.
/// </summary>
public sealed class SigningKeys(string server, KeyProtection? protection) : IDisposable
{
    private SigningAuthority? _current;
    private List<(X509Certificate2 Anchor, DateTimeOffset RetiredAt)> _retired = [];

    /// <summary>The current key: signs proxy identities, and everything else until a rotation switches.</summary>
    public SigningAuthority Current => _current ?? throw new InvalidOperationException($"{server} has no signing authority yet");

    /// <summary>The new key of a rotation in progress, if one is.</summary>
    public SigningAuthority? Next { get; private set; }

    /// <summary>The key that signs user certificates and inter-server credentials in <paramref name="phase"/> (a <see cref="RotationPhase"/>).</summary>
    public SigningAuthority SignerIn(string phase) => phase == RotationPhase.Switched && Next is not null ? Next : Current;

    /// <summary>The key whose credential a hand-off presented; after a finish the new key is the current one.</summary>
    public SigningAuthority ProofKey(bool nextKey) => nextKey ? Next ?? Current : Current;

    /// <summary>Fig. 7 step 702: issued by the current key, or by the new one while a rotation is in progress.</summary>
    public CertificateVerdict Verify(KnownCertificate certificate, CertificateKind kind, DateTimeOffset now)
    {
        var verdict = Current.Verify(certificate, kind, now);
        return verdict == CertificateVerdict.NotIssuedHere && Next is { } next ? next.Verify(certificate, kind, now) : verdict;
    }

    /// <summary>The retired key that signed <paramref name="certificate"/>, if one did: to refuse it for what it is, not as unknown.</summary>
    public RetiredAnchor? RetiredKeyOf(KnownCertificate certificate, CertificateKind kind, DateTimeOffset now)
    {
        foreach (var (anchor, retiredAt) in _retired)
        {
            if (AnchorCheck.Verify(certificate, anchor, kind, now) is CertificateVerdict.Valid or CertificateVerdict.Expired or CertificateVerdict.NotYetValid)
            {
                return new RetiredAnchor(anchor.RawData, retiredAt);
            }
        }

        return null;
    }

    /// <summary>The key created at this server's first start, journalled encrypted when the node has a key secret.</summary>
    public void Import(AuthorityCreated created)
    {
        _current?.Dispose();
        _current = null;
        _current = ImportKey(created);
    }

    /// <summary>Brings the keys of a rotation in line with the state (after a rotation event or a snapshot).</summary>
    public void ImportRotation(AuthServerState state)
    {
        if (state.Authority is { } current && _current is not null && !_current.Certificate.RawData.AsSpan().SequenceEqual(current.CertificateDer))
        {
            // A finished rotation: the new key is now the current one.
            _current.Dispose();
            _current = Next is { } promoted && promoted.Certificate.RawData.AsSpan().SequenceEqual(current.CertificateDer) ? promoted : ImportKey(current);
            Next = ReferenceEquals(_current, Next) ? null : Next;
        }

        if (state.Rotation is { } rotation)
        {
            if (Next is null || !Next.Certificate.RawData.AsSpan().SequenceEqual(rotation.NextKey.CertificateDer))
            {
                Next?.Dispose();
                Next = ImportKey(rotation.NextKey);
            }
        }
        else
        {
            Next?.Dispose();
            Next = null;
        }

        if (_retired.Count != state.Retired.Count)
        {
            DisposeRetired();
            _retired = state.Retired.Select(r => (CertificateText.FromDer(r.CertificateDer), r.RetiredAt)).ToList();
        }
    }

    public void Dispose()
    {
        _current?.Dispose();
        _current = null;
        Next?.Dispose();
        Next = null;
        DisposeRetired();
        _retired = [];
    }

    private void DisposeRetired()
    {
        foreach (var (anchor, _) in _retired)
        {
            anchor.Dispose();
        }
    }

    private SigningAuthority ImportKey(AuthorityCreated created)
    {
        if (!created.KeyIsProtected)
        {
            return SigningAuthority.Import(server, created.PrivateKey, created.CertificateDer);
        }

        var secret = protection
            ?? throw new CredentialException($"the signing key of {server} is protected at rest, but no key secret is configured (DIR/key-secret or AVPN_KEY_SECRET)");
        return SigningAuthority.ImportEncrypted(server, secret.Secret, created.PrivateKey, created.CertificateDer);
    }
}
