using Xunit;
using static ActorVpn.Credentials.Tests.Fixtures;

namespace ActorVpn.Credentials.Tests;

public sealed class TextAndPinTests
{
    [Fact]
    public void Certificate_round_trips_through_pem()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.User);

        var pem = CertificateText.ToPem(cert);
        using var back = CertificateText.FromPem(pem);

        Assert.StartsWith("-----BEGIN CERTIFICATE-----", pem);
        Assert.Equal(cert.RawData, back.RawData);
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(back, CertificateKind.User, Now));
    }

    [Fact]
    public void Private_key_round_trips_through_pem()
    {
        using var key = LeafKey.Create();

        var pem = CertificateText.PrivateKeyToPem(key.ExportPkcs8PrivateKey());
        using var back = LeafKey.ImportPkcs8(CertificateText.PrivateKeyFromPem(pem));

        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", pem);
        Assert.Equal(key.SubjectPublicKeyInfo, back.SubjectPublicKeyInfo);
    }

    [Fact]
    public void A_profile_file_with_key_and_certificate_yields_each()
    {
        using var authority = Authority();
        using var key = LeafKey.Create();
        using var cert = authority.Issue(CertificateKind.User, "alice", key.SubjectPublicKeyInfo, Now, Now.AddDays(1));
        var profile = "# alice\n" + CertificateText.PrivateKeyToPem(key.ExportPkcs8PrivateKey()) + "\n" + CertificateText.ToPem(cert) + "\n";

        using var certBack = CertificateText.FromPem(profile);
        using var keyBack = LeafKey.ImportPkcs8(CertificateText.PrivateKeyFromPem(profile));

        Assert.Equal(cert.RawData, certBack.RawData);
        Assert.Equal(key.SubjectPublicKeyInfo, keyBack.SubjectPublicKeyInfo);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a certificate")]
    [InlineData("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----")]
    [InlineData("-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----")]
    [InlineData("-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----")]
    public void Garbage_pem_is_rejected_with_a_credential_exception(string pem)
    {
        var e = Assert.Throws<CredentialException>(() => CertificateText.FromPem(pem));
        Assert.Contains("certificate", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Text_without_a_private_key_is_rejected()
    {
        using var authority = Authority();

        Assert.Throws<CredentialException>(() => CertificateText.PrivateKeyFromPem(CertificateText.ToPem(authority.Certificate)));
    }

    [Fact]
    public void Pin_is_base64_sha256_of_the_key_and_matches_only_that_key()
    {
        using var authority = Authority();
        using var key = LeafKey.Create();
        using var first = authority.Issue(CertificateKind.Proxy, "proxy1", key.SubjectPublicKeyInfo, Now, Now.AddDays(1));
        using var renewed = authority.Issue(CertificateKind.Proxy, "proxy1", key.SubjectPublicKeyInfo, Now, Now.AddDays(2));
        using var other = IssueFresh(authority, CertificateKind.Proxy, "proxy1");

        var pin = Pins.SpkiSha256(first);

        Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(key.SubjectPublicKeyInfo)), pin);
        Assert.True(Pins.Matches(first, pin));
        Assert.True(Pins.Matches(renewed, pin));
        Assert.False(Pins.Matches(other, pin));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAAA")]
    public void Malformed_pin_never_matches(string pin)
    {
        using var authority = Authority();

        Assert.False(Pins.Matches(authority.Certificate, pin));
    }
}
