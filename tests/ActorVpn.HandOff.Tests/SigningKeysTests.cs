using ActorVpn.AuthServers.Hosting;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using Xunit;
using static ActorVpn.HandOff.Tests.Patent;

namespace ActorVpn.HandOff.Tests;

/// <summary>The keys an auth server verifies and signs with across a signing-key rotation (Fig. 7 step 702, 【0023】).</summary>
public sealed class SigningKeysTests
{
    private static readonly SigningAuthority Old = Authority("as2");
    private static readonly SigningAuthority New = Authority("as2");

    private static readonly AuthServerState Started = AuthServerState.Empty("as2")
        .Apply(new AuthorityCreated(Old.ExportPkcs8PrivateKey(), Old.Certificate.RawData, KeyIsProtected: false))
        .Apply(new KeyRotationStarted(New.ExportPkcs8PrivateKey(), New.Certificate.RawData, KeyIsProtected: false, Now, "op"));

    private static SigningKeys KeysOf(AuthServerState state)
    {
        var keys = new SigningKeys("as2", null);
        keys.Import(state.Authority!);
        keys.ImportRotation(state);
        return keys;
    }

    [Fact]
    public void During_a_rotation_both_keys_verify_and_the_new_one_signs_only_once_switched()
    {
        using var keys = KeysOf(Started);
        Assert.Equal(CertificateVerdict.Valid, keys.Verify(KnownCertificate.Read(UserCertificate(New, "alice")), CertificateKind.User, Now));
        Assert.Equal(CertificateVerdict.Valid, keys.Verify(KnownCertificate.Read(UserCertificate(Old, "alice")), CertificateKind.User, Now));
        Assert.Equal(Old.Certificate.RawData, keys.SignerIn(RotationPhase.Started).Certificate.RawData);
        Assert.Equal(New.Certificate.RawData, keys.SignerIn(RotationPhase.Switched).Certificate.RawData);
        Assert.Equal(New.Certificate.RawData, keys.ProofKey(nextKey: true).Certificate.RawData);
    }

    [Fact]
    public void After_a_finish_the_new_key_is_the_only_one_and_the_old_one_is_known_as_retired()
    {
        using var keys = KeysOf(Started);
        keys.ImportRotation(Started.Apply(new SigningKeySwitched(Now, "op")).Apply(new KeyRotationFinished(Now, "op")));
        var signedByOld = KnownCertificate.Read(UserCertificate(Old, "alice"));

        Assert.Null(keys.Next);
        Assert.Equal(New.Certificate.RawData, keys.Current.Certificate.RawData);
        Assert.Equal(CertificateVerdict.NotIssuedHere, keys.Verify(signedByOld, CertificateKind.User, Now));
        Assert.Equal(Old.Certificate.RawData, keys.RetiredKeyOf(signedByOld, CertificateKind.User, Now)?.CertificateDer);
        Assert.Null(keys.RetiredKeyOf(KnownCertificate.Read(UserCertificate(Authority("as9"), "alice")), CertificateKind.User, Now));
    }

    [Fact]
    public void A_rollback_drops_the_new_key()
    {
        using var keys = KeysOf(Started);
        keys.ImportRotation(Started.Apply(new KeyRotationRolledBack(Now, "op")));
        Assert.Null(keys.Next);
        Assert.Equal(CertificateVerdict.NotIssuedHere, keys.Verify(KnownCertificate.Read(UserCertificate(New, "alice")), CertificateKind.User, Now));
    }

    [Fact]
    public void A_key_protected_at_rest_needs_the_key_secret()
    {
        var protectedKey = new AuthorityCreated(Old.ExportEncryptedPkcs8PrivateKey("secret"), Old.Certificate.RawData, KeyIsProtected: true);
        using var withoutSecret = new SigningKeys("as2", null);
        Assert.Throws<CredentialException>(() => withoutSecret.Import(protectedKey));
        using var withSecret = new SigningKeys("as2", new KeyProtection("secret"));
        withSecret.Import(protectedKey);
        Assert.Equal(Old.Certificate.RawData, withSecret.Current.Certificate.RawData);
    }
}
