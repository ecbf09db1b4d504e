using System.Security.Cryptography;
using Xunit;
using static ActorVpn.Credentials.Tests.Fixtures;

namespace ActorVpn.Credentials.Tests;

public sealed class KeyImportExportTests
{
    [Fact]
    public void Imported_authority_is_the_same_authority()
    {
        using var original = Authority("as1");
        using var imported = SigningAuthority.Import("as1", original.ExportPkcs8PrivateKey(), original.Certificate.RawData);
        using var fromOriginal = IssueFresh(original, CertificateKind.InterServer, "as2");
        using var fromImported = IssueFresh(imported, CertificateKind.InterServer, "as3");

        Assert.Equal(original.SubjectPublicKeyInfo, imported.SubjectPublicKeyInfo);
        Assert.Equal(CertificateVerdict.Valid, imported.Verify(fromOriginal, CertificateKind.InterServer, Now));
        Assert.Equal(CertificateVerdict.Valid, original.Verify(fromImported, CertificateKind.InterServer, Now));
    }

    [Fact]
    public void Import_rejects_a_key_that_does_not_match_the_certificate()
    {
        using var authority = Authority("as1");
        using var other = Authority("as1");

        var e = Assert.Throws<CredentialException>(() =>
            SigningAuthority.Import("as1", other.ExportPkcs8PrivateKey(), authority.Certificate.RawData));
        Assert.Contains("does not belong", e.Message);
    }

    [Fact]
    public void Import_rejects_a_leaf_certificate_and_garbage()
    {
        using var authority = Authority("as1");
        using var leafKey = LeafKey.Create();
        using var leaf = authority.Issue(CertificateKind.User, "as1", leafKey.SubjectPublicKeyInfo, Now, Now.AddDays(1));

        Assert.Throws<CredentialException>(() => SigningAuthority.Import("as1", leafKey.ExportPkcs8PrivateKey(), leaf.RawData));
        Assert.Throws<CredentialException>(() => SigningAuthority.Import("as1", [1, 2, 3], authority.Certificate.RawData));
        Assert.Throws<CredentialException>(() => SigningAuthority.Import("as1", authority.ExportPkcs8PrivateKey(), [1, 2, 3]));
    }

    [Fact]
    public void Import_rejects_a_certificate_of_another_name()
    {
        using var authority = Authority("as1");

        Assert.Throws<CredentialException>(() =>
            SigningAuthority.Import("as9", authority.ExportPkcs8PrivateKey(), authority.Certificate.RawData));
    }

    [Fact]
    public void Encrypted_key_round_trips_with_the_right_password()
    {
        using var original = Authority("as1");
        var encrypted = original.ExportEncryptedPkcs8PrivateKey("correct horse");
        using var imported = SigningAuthority.ImportEncrypted("as1", "correct horse", encrypted, original.Certificate.RawData);
        using var cert = IssueFresh(imported, CertificateKind.Operator, "admin");

        Assert.Equal(CertificateVerdict.Valid, original.Verify(cert, CertificateKind.Operator, Now));
        Assert.False(encrypted.AsSpan().IndexOf(original.ExportPkcs8PrivateKey().AsSpan()[^32..]) >= 0);
    }

    [Fact]
    public void Encrypted_key_uses_aes256_cbc_sha256_and_100k_iterations()
    {
        using var authority = Authority();
        var encrypted = authority.ExportEncryptedPkcs8PrivateKey("pw");
        byte[] aes256Cbc = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A];
        byte[] hmacSha256 = [0x06, 0x08, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02, 0x09];
        byte[] iterations100k = [0x02, 0x03, 0x01, 0x86, 0xA0];

        Assert.True(encrypted.AsSpan().IndexOf(aes256Cbc) >= 0, "AES-256-CBC");
        Assert.True(encrypted.AsSpan().IndexOf(hmacSha256) >= 0, "PBKDF2 with HMAC-SHA256");
        Assert.True(encrypted.AsSpan().IndexOf(iterations100k) >= 0, "100,000 iterations");
    }

    [Fact]
    public void Encrypted_key_with_the_wrong_password_fails()
    {
        using var original = Authority("as1");
        var encrypted = original.ExportEncryptedPkcs8PrivateKey("correct horse");

        Assert.Throws<CredentialException>(() =>
            SigningAuthority.ImportEncrypted("as1", "wrong horse", encrypted, original.Certificate.RawData));
    }

    [Fact]
    public void Leaf_key_round_trips_through_pkcs8()
    {
        using var key = LeafKey.Create();
        using var imported = LeafKey.ImportPkcs8(key.ExportPkcs8PrivateKey());
        var data = "hello"u8.ToArray();

        Assert.Equal(key.SubjectPublicKeyInfo, imported.SubjectPublicKeyInfo);
        using var verifier = ECDsa.Create();
        verifier.ImportSubjectPublicKeyInfo(key.SubjectPublicKeyInfo, out _);
        Assert.True(verifier.VerifyData(data, imported.SignData(data), HashAlgorithmName.SHA256));
    }

    [Fact]
    public void Leaf_key_import_rejects_garbage_and_other_curves()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.Throws<CredentialException>(() => LeafKey.ImportPkcs8([0x30, 0x01, 0x00]));
        Assert.Throws<CredentialException>(() => LeafKey.ImportPkcs8(p384.ExportPkcs8PrivateKey()));
    }

    [Fact]
    public void Attaching_a_key_to_a_certificate_of_another_key_fails()
    {
        using var authority = Authority();
        using var mine = LeafKey.Create();
        using var theirs = LeafKey.Create();
        using var cert = authority.Issue(CertificateKind.User, "alice", theirs.SubjectPublicKeyInfo, Now, Now.AddDays(1));

        Assert.Throws<CredentialException>(() => mine.AttachTo(cert));
        using var withKey = theirs.AttachTo(cert);
        Assert.True(withKey.HasPrivateKey);
    }
}
