using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Xunit;
using static ActorVpn.Credentials.Tests.Fixtures;

namespace ActorVpn.Credentials.Tests;

public sealed class IssueAndVerifyTests
{
    [Theory]
    [InlineData(CertificateKind.User)]
    [InlineData(CertificateKind.Proxy)]
    [InlineData(CertificateKind.InterServer)]
    [InlineData(CertificateKind.Operator)]
    public void Issued_certificate_verifies_as_its_kind(CertificateKind kind)
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, kind, "proxy1");

        Assert.Equal(CertificateVerdict.Valid, authority.Verify(cert, kind, Now));
        Assert.Equal(kind, CertificateFacts.KindOf(cert));
        Assert.Equal("proxy1", CertificateFacts.SubjectName(cert));
        Assert.False(cert.HasPrivateKey);
    }

    [Fact]
    public void Authority_certificate_is_a_self_signed_path_length_zero_CA_without_private_key()
    {
        using var authority = Authority("as2");
        var ca = authority.Certificate;

        Assert.False(ca.HasPrivateKey);
        Assert.Equal("as2", CertificateFacts.SubjectName(ca));
        Assert.Contains("O=ActorVpn", ca.Subject);
        Assert.Contains("OU=authority", ca.Subject);
        Assert.Equal(ca.Subject, ca.Issuer);
        var basic = Assert.Single(ca.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(basic.CertificateAuthority);
        Assert.True(basic.HasPathLengthConstraint);
        Assert.Equal(0, basic.PathLengthConstraint);
        var usage = Assert.Single(ca.Extensions.OfType<X509KeyUsageExtension>()).KeyUsages;
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, usage);
        Assert.InRange((ca.NotAfter - ca.NotBefore).TotalDays, 3650, 3660);
        Assert.Equal(authority.SubjectPublicKeyInfo, ca.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Null(CertificateFacts.KindOf(ca));
    }

    [Fact]
    public void Proxy_certificate_carries_the_profile_the_clients_and_tls_rely_on()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.Proxy, "proxy2.avpn.svc");

        Assert.Contains("OU=proxy", cert.Subject);
        Assert.Contains("O=ActorVpn", cert.Subject);
        Assert.Equal(authority.Certificate.Subject, cert.Issuer);
        Assert.False(Assert.Single(cert.Extensions.OfType<X509BasicConstraintsExtension>()).CertificateAuthority);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, Assert.Single(cert.Extensions.OfType<X509KeyUsageExtension>()).KeyUsages);
        var usages = Assert.Single(cert.Extensions.OfType<X509EnhancedKeyUsageExtension>()).EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value);
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], usages.Order());
        Assert.Equal(["proxy2.avpn.svc"], Assert.Single(cert.Extensions.OfType<X509SubjectAlternativeNameExtension>()).EnumerateDnsNames());
        var aki = Assert.Single(cert.Extensions.OfType<X509AuthorityKeyIdentifierExtension>());
        var caSki = Assert.Single(authority.Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
        Assert.Equal(Convert.FromHexString(caSki.SubjectKeyIdentifier!), aki.KeyIdentifier!.Value.ToArray());
    }

    [Fact]
    public void User_certificate_is_for_client_authentication_only()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.User);

        var usages = Assert.Single(cert.Extensions.OfType<X509EnhancedKeyUsageExtension>()).EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value);
        Assert.Equal(["1.3.6.1.5.5.7.3.2"], usages);
        Assert.Empty(cert.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Contains("OU=user", cert.Subject);
    }

    [Fact]
    public void Serial_numbers_are_random_positive_and_16_bytes()
    {
        using var authority = Authority();
        var serials = Enumerable.Range(0, 20).Select(_ =>
        {
            using var cert = IssueFresh(authority, CertificateKind.User);
            return cert.SerialNumberBytes.ToArray();
        }).ToList();

        Assert.All(serials, s => Assert.Equal(16, s.Length));
        Assert.All(serials, s => Assert.True(new BigInteger(s, isUnsigned: false, isBigEndian: true) > 0));
        Assert.Equal(serials.Count, serials.Select(Convert.ToHexString).Distinct().Count());
    }

    [Fact]
    public void Lifetime_is_clamped_to_the_authority_lifetime()
    {
        using var authority = SigningAuthority.Create("short", Now.AddDays(-1), TimeSpan.FromDays(10));
        using var cert = IssueFresh(authority, CertificateKind.User, notAfter: Now.AddYears(5));

        Assert.Equal(authority.Certificate.NotAfter, cert.NotAfter);
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(cert, CertificateKind.User, Now));
    }

    [Fact]
    public void Issuing_after_the_authority_expired_fails()
    {
        using var authority = SigningAuthority.Create("short", Now, TimeSpan.FromDays(1));
        using var key = LeafKey.Create();

        Assert.Throws<CredentialException>(() =>
            authority.Issue(CertificateKind.User, "alice", key.SubjectPublicKeyInfo, Now.AddDays(2), Now.AddDays(3)));
    }

    [Fact]
    public void Certificate_from_another_authority_is_not_issued_here()
    {
        using var mine = Authority("as1");
        using var other = Authority("as2");
        using var cert = IssueFresh(other, CertificateKind.User);

        Assert.Equal(CertificateVerdict.Valid, other.Verify(cert, CertificateKind.User, Now));
        Assert.Equal(CertificateVerdict.NotIssuedHere, mine.Verify(cert, CertificateKind.User, Now));
    }

    [Fact]
    public void Forged_certificate_with_identical_names_but_another_key_is_not_issued_here()
    {
        using var genuine = Authority("as1");
        using var forger = Authority("as1"); // same CA subject, different key
        using var forged = IssueFresh(forger, CertificateKind.User, "alice");
        using var real = IssueFresh(genuine, CertificateKind.User, "alice");

        Assert.Equal(real.Subject, forged.Subject);
        Assert.Equal(real.Issuer, forged.Issuer);
        Assert.Equal(CertificateVerdict.NotIssuedHere, genuine.Verify(forged, CertificateKind.User, Now));
    }

    [Fact]
    public void Forged_certificate_without_key_identifiers_is_not_issued_here()
    {
        using var genuine = Authority("as1");
        using var forgerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var subjectKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=alice, O=ActorVpn, OU=user", subjectKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var forged = request.Create(
            genuine.Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(forgerKey), Now.AddDays(-1), Now.AddDays(1), [1, 2, 3, 4]);

        Assert.Equal(CertificateVerdict.NotIssuedHere, genuine.Verify(forged, CertificateKind.User, Now));
    }

    [Fact]
    public void Forged_certificate_that_is_also_expired_is_reported_as_not_issued_here()
    {
        using var genuine = Authority("as1");
        using var forger = Authority("as1");
        using var forged = IssueFresh(forger, CertificateKind.User, notBefore: Now.AddDays(-1), notAfter: Now.AddHours(1));

        Assert.Equal(CertificateVerdict.NotIssuedHere, genuine.Verify(forged, CertificateKind.User, Now.AddDays(2)));
    }

    [Fact]
    public void Expired_certificate_is_expired()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.User, notBefore: Now.AddDays(-10), notAfter: Now.AddDays(-1));

        Assert.Equal(CertificateVerdict.Expired, authority.Verify(cert, CertificateKind.User, Now));
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(cert, CertificateKind.User, Now.AddDays(-5)));
    }

    [Fact]
    public void Certificate_before_its_start_is_not_yet_valid()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.User, notBefore: Now.AddDays(1), notAfter: Now.AddDays(10));

        Assert.Equal(CertificateVerdict.NotYetValid, authority.Verify(cert, CertificateKind.User, Now));
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(cert, CertificateKind.User, Now.AddDays(2)));
    }

    [Fact]
    public void Certificate_of_an_expired_authority_is_expired()
    {
        using var authority = SigningAuthority.Create("short", Now.AddDays(-1), TimeSpan.FromDays(2));
        using var cert = IssueFresh(authority, CertificateKind.User);

        Assert.Equal(CertificateVerdict.Expired, authority.Verify(cert, CertificateKind.User, Now.AddDays(3)));
    }

    [Theory]
    [InlineData(CertificateKind.Proxy, CertificateKind.User)]
    [InlineData(CertificateKind.User, CertificateKind.Proxy)]
    [InlineData(CertificateKind.User, CertificateKind.Operator)]
    [InlineData(CertificateKind.InterServer, CertificateKind.User)]
    [InlineData(CertificateKind.Operator, CertificateKind.InterServer)]
    public void Certificate_presented_as_another_kind_is_wrong_kind(CertificateKind issued, CertificateKind presentedAs)
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, issued, "proxy1");

        Assert.Equal(CertificateVerdict.WrongKind, authority.Verify(cert, presentedAs, Now));
    }

    [Fact]
    public void Wrong_kind_wins_over_expiry()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.Proxy, "proxy1", Now.AddDays(-10), Now.AddDays(-1));

        Assert.Equal(CertificateVerdict.WrongKind, authority.Verify(cert, CertificateKind.User, Now));
    }

    [Fact]
    public void Certificate_with_the_user_unit_but_server_usage_is_wrong_kind()
    {
        using var authority = Authority();
        using var subjectKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=alice, O=ActorVpn, OU=user", subjectKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = SignRaw(authority, request, Now.AddDays(-1), Now.AddDays(1));

        Assert.Equal(CertificateVerdict.WrongKind, authority.Verify(cert, CertificateKind.User, Now));
    }

    [Fact]
    public void The_authority_certificate_itself_is_no_user_certificate()
    {
        using var authority = Authority();

        Assert.Equal(CertificateVerdict.WrongKind, authority.Verify(authority.Certificate, CertificateKind.User, Now));
    }

    [Fact]
    public void Garbage_der_is_rejected_with_a_credential_exception()
    {
        Assert.Throws<CredentialException>(() => CertificateText.FromDer([0x30, 0x82, 0x01, 0x00, 0xde, 0xad]));
        Assert.Throws<CredentialException>(() => CertificateText.FromDer([]));
        Assert.Throws<CredentialException>(() => CertificateText.FromDer(RandomNumberGenerator.GetBytes(300)));
    }

    [Fact]
    public void Der_with_trailing_bytes_is_rejected()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.User);

        Assert.Throws<CredentialException>(() => CertificateText.FromDer([.. cert.RawData, 0x00]));
        using var roundTripped = CertificateText.FromDer(cert.RawData);
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(roundTripped, CertificateKind.User, Now));
    }

    [Fact]
    public void Unreadable_certificate_object_is_malformed()
    {
        using var authority = Authority();
        var cert = IssueFresh(authority, CertificateKind.User);
        cert.Dispose();

        Assert.Equal(CertificateVerdict.Malformed, authority.Verify(cert, CertificateKind.User, Now));
    }

    [Fact]
    public void Signed_certificate_without_a_common_name_is_malformed()
    {
        using var authority = Authority();
        using var subjectKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("O=ActorVpn, OU=user", subjectKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        using var cert = SignRaw(authority, request, Now.AddDays(-1), Now.AddDays(1));

        Assert.Equal(CertificateVerdict.Malformed, authority.Verify(cert, CertificateKind.User, Now));
        Assert.Throws<CredentialException>(() => CertificateFacts.SubjectName(cert));
    }

    [Fact]
    public void Issue_rejects_a_key_that_is_not_ecdsa_p256()
    {
        using var authority = Authority();
        using var rsa = RSA.Create(2048);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.Throws<CredentialException>(() =>
            authority.Issue(CertificateKind.User, "alice", rsa.ExportSubjectPublicKeyInfo(), Now, Now.AddDays(1)));
        Assert.Throws<CredentialException>(() =>
            authority.Issue(CertificateKind.User, "alice", p384.ExportSubjectPublicKeyInfo(), Now, Now.AddDays(1)));
        Assert.Throws<CredentialException>(() =>
            authority.Issue(CertificateKind.User, "alice", [0x30, 0x03, 0x01, 0x02, 0x03], Now, Now.AddDays(1)));
    }

    [Theory]
    [InlineData(CertificateKind.Proxy, "bad name")]
    [InlineData(CertificateKind.Proxy, "-proxy")]
    [InlineData(CertificateKind.Proxy, "a..b")]
    [InlineData(CertificateKind.User, "")]
    [InlineData(CertificateKind.User, "line\nbreak")]
    public void Issue_rejects_unusable_subject_names(CertificateKind kind, string name)
    {
        using var authority = Authority();
        using var key = LeafKey.Create();

        Assert.Throws<ArgumentException>(() => authority.Issue(kind, name, key.SubjectPublicKeyInfo, Now, Now.AddDays(1)));
    }

    [Fact]
    public void Subject_names_cannot_smuggle_in_another_unit()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.User, "x, OU=operator");

        Assert.Equal("x, OU=operator", CertificateFacts.SubjectName(cert));
        Assert.Equal(CertificateKind.User, CertificateFacts.KindOf(cert));
        Assert.Equal(CertificateVerdict.WrongKind, authority.Verify(cert, CertificateKind.Operator, Now));
    }

    [Fact]
    public void Verify_is_safe_to_call_from_many_threads()
    {
        using var mine = Authority("as1");
        using var other = Authority("as2");
        using var good = IssueFresh(mine, CertificateKind.User);
        using var foreign = IssueFresh(other, CertificateKind.User);
        var verdicts = new CertificateVerdict[400];

        Parallel.For(0, verdicts.Length, i =>
            verdicts[i] = mine.Verify(i % 2 == 0 ? good : foreign, CertificateKind.User, Now));

        for (var i = 0; i < verdicts.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? CertificateVerdict.Valid : CertificateVerdict.NotIssuedHere, verdicts[i]);
        }
    }
}
