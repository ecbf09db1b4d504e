using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Xunit;
using static ActorVpn.Credentials.Tests.Fixtures;

namespace ActorVpn.Credentials.Tests;

/// <summary>
/// Verdicts are remembered per certificate (<see cref="KnownCertificate"/>): each test first lets a genuine credential
/// be judged Valid (so it is cached), then presents what the cache must never let through.
/// </summary>
public sealed class VerdictCacheTests
{
    [Fact]
    public void A_cached_valid_certificate_is_refused_once_it_has_expired()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.InterServer, "as2", Now.AddHours(-1), Now.AddHours(1));
        var known = KnownCertificate.Read(cert.RawData);

        Assert.Equal(CertificateVerdict.Valid, authority.Verify(known, CertificateKind.InterServer, Now));
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(cert, CertificateKind.InterServer, Now));

        Assert.Equal(CertificateVerdict.Expired, authority.Verify(known, CertificateKind.InterServer, Now.AddHours(2)));
        Assert.Equal(CertificateVerdict.Expired, authority.Verify(cert, CertificateKind.InterServer, Now.AddHours(2)));
        Assert.Equal(CertificateVerdict.NotYetValid, authority.Verify(known, CertificateKind.InterServer, Now.AddHours(-2)));
        Assert.False(known.IsCurrent(Now.AddHours(2)));
    }

    [Fact]
    public void A_certificate_is_valid_through_its_NotAfter_instant_and_expired_one_tick_later()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.User, "alice", Now.AddHours(-1), Now.AddHours(1));
        var known = KnownCertificate.Read(cert.RawData);
        var notAfter = new DateTimeOffset(known.NotAfterUtc, TimeSpan.Zero);

        Assert.True(known.IsCurrent(notAfter));
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(known, CertificateKind.User, notAfter));
        Assert.False(known.IsCurrent(notAfter.AddTicks(1)));
        Assert.Equal(CertificateVerdict.Expired, authority.Verify(known, CertificateKind.User, notAfter.AddTicks(1)));
    }

    [Fact]
    public void A_certificate_with_a_tampered_signature_is_not_served_the_genuine_ones_verdict()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.User);
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(KnownCertificate.Read(cert.RawData), CertificateKind.User, Now));

        var tampered = cert.RawData;
        tampered[^3] ^= 0x01; // inside the signature's last integer: still parses, no longer verifies

        Assert.Equal(CertificateVerdict.NotIssuedHere, authority.Verify(KnownCertificate.Read(tampered), CertificateKind.User, Now));
        using var tamperedObject = X509CertificateLoader.LoadCertificate(tampered);
        Assert.Equal(CertificateVerdict.NotIssuedHere, authority.Verify(tamperedObject, CertificateKind.User, Now));
    }

    [Fact]
    public void A_certificate_signed_by_another_authority_of_the_same_name_is_not_issued_here()
    {
        using var genuine = Authority("as1");
        using var impostor = Authority("as1"); // same name, other key: same issuer name in what it signs
        using var cert = IssueFresh(genuine, CertificateKind.User);
        using var forged = IssueFresh(impostor, CertificateKind.User);
        Assert.Equal(CertificateVerdict.Valid, genuine.Verify(KnownCertificate.Read(cert.RawData), CertificateKind.User, Now));
        Assert.Equal(CertificateVerdict.Valid, impostor.Verify(KnownCertificate.Read(forged.RawData), CertificateKind.User, Now));

        Assert.Equal(CertificateVerdict.NotIssuedHere, genuine.Verify(KnownCertificate.Read(forged.RawData), CertificateKind.User, Now));
        Assert.Equal(CertificateVerdict.NotIssuedHere, impostor.Verify(KnownCertificate.Read(cert.RawData), CertificateKind.User, Now));
    }

    [Fact]
    public void A_cached_verdict_is_per_kind_and_per_expected_name()
    {
        using var authority = Authority();
        using var proxy = IssueFresh(authority, CertificateKind.Proxy, "proxy1");
        Assert.Equal(CertificateVerdict.Valid, ProxyIdentity.VerifyAgainstAnchor(proxy, authority.Certificate, "proxy1", Now));

        Assert.Equal(CertificateVerdict.WrongKind, ProxyIdentity.VerifyAgainstAnchor(proxy, authority.Certificate, "proxy2", Now));
        Assert.Equal(CertificateVerdict.WrongKind, authority.Verify(KnownCertificate.Read(proxy.RawData), CertificateKind.User, Now));
        Assert.Equal(CertificateVerdict.Valid, ProxyIdentity.VerifyAgainstAnchor(proxy, authority.Certificate, "PROXY1", Now));
    }

    [Fact]
    public void The_anchor_expiring_is_checked_on_every_call_too()
    {
        using var authority = SigningAuthority.Create("as1", Now.AddDays(-1), TimeSpan.FromDays(2));
        using var cert = IssueFresh(authority, CertificateKind.User, notAfter: Now.AddDays(30)); // clamped to the CA's notAfter
        var known = KnownCertificate.Read(cert.RawData);
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(known, CertificateKind.User, Now));

        Assert.Equal(CertificateVerdict.Expired, authority.Verify(known, CertificateKind.User, Now.AddDays(3)));
    }

    [Fact]
    public void A_proof_checked_with_a_cached_key_still_needs_this_nonce_this_binding_and_the_right_key()
    {
        using var authority = Authority();
        using var key = LeafKey.Create();
        using var credential = authority.Issue(CertificateKind.InterServer, "as2", key.SubjectPublicKeyInfo, Now.AddHours(-1), Now.AddDays(1));
        var known = KnownCertificate.Read(credential.RawData);
        var nonce = PeerProof.NewNonce();
        var binding = "hand-off 1"u8.ToArray();
        var proof = PeerProof.Sign(key.SignData, nonce, binding);
        Assert.True(PeerProof.VerifyKnown(known, nonce, binding, proof));

        Assert.False(PeerProof.VerifyKnown(known, PeerProof.NewNonce(), binding, proof));
        Assert.False(PeerProof.VerifyKnown(known, nonce, "hand-off 2"u8.ToArray(), proof));
        using var other = LeafKey.Create();
        Assert.False(PeerProof.VerifyKnown(known, nonce, binding, PeerProof.Sign(other.SignData, nonce, binding)));
        var flipped = (byte[])proof.Clone();
        flipped[0] ^= 0x80;
        Assert.False(PeerProof.VerifyKnown(known, nonce, binding, flipped));
    }

    [Fact]
    public void Reading_the_same_bytes_twice_gives_the_same_entry_and_other_bytes_never_do()
    {
        using var authority = Authority();
        using var a = IssueFresh(authority, CertificateKind.User, "alice");
        using var b = IssueFresh(authority, CertificateKind.User, "alice");

        Assert.Same(KnownCertificate.Read(a.RawData), KnownCertificate.Read(a.RawData));
        Assert.Same(KnownCertificate.Read(a.RawData), KnownCertificate.Of(a));
        Assert.NotSame(KnownCertificate.Read(a.RawData), KnownCertificate.Read(b.RawData));
        Assert.Equal(a.SerialNumberBytes.ToArray(), KnownCertificate.Read(a.RawData).SerialNumber.ToArray());
        Assert.Equal("alice", KnownCertificate.Read(b.RawData).SubjectName);
    }

    [Fact]
    public void Bytes_that_are_no_certificate_are_refused_like_FromDer_refuses_them()
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, CertificateKind.User);

        Assert.Throws<CredentialException>(() => KnownCertificate.Read([0x30, 0x03, 0x02, 0x01, 0x01]));
        Assert.Throws<CredentialException>(() => KnownCertificate.Read([.. cert.RawData, 0x00]));
        Assert.Throws<CredentialException>(() => KnownCertificate.Read(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void The_cache_stays_bounded_under_a_flood_of_distinct_certificates()
    {
        using var authority = Authority();
        using var key = LeafKey.Create();
        for (var i = 0; i < KnownCertificate.MaxEntries + 50; i++)
        {
            var now = Now.AddSeconds(i);
            using var cert = authority.Issue(CertificateKind.User, "u" + i, key.SubjectPublicKeyInfo, now, now.AddDays(1));
            KnownCertificate.Read(cert.RawData);
            Assert.InRange(KnownCertificate.CachedCount, 1, KnownCertificate.MaxEntries);
        }
    }

    [Fact]
    public void A_disposed_certificate_object_is_malformed_not_a_cache_hit()
    {
        using var authority = Authority();
        var cert = IssueFresh(authority, CertificateKind.User);
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(cert, CertificateKind.User, Now));
        cert.Dispose();

        Assert.Equal(CertificateVerdict.Malformed, authority.Verify(cert, CertificateKind.User, Now));
    }

    [Fact]
    public void A_certificate_whose_issuer_name_matches_but_which_another_key_signed_is_not_issued_here_even_against_the_cache()
    {
        using var authority = Authority();
        using var impostorKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var subjectKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var genuine = IssueFresh(authority, CertificateKind.User);
        Assert.Equal(CertificateVerdict.Valid, authority.Verify(genuine, CertificateKind.User, Now));

        // Same subject, same issuer name, same validity as the genuine one; signed by a key that is not the authority's.
        var request = new CertificateRequest(genuine.SubjectName, subjectKey, HashAlgorithmName.SHA256);
        foreach (var extension in genuine.Extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        using var forged = request.Create(authority.Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(impostorKey),
            genuine.NotBefore, genuine.NotAfter, genuine.SerialNumberBytes.ToArray());

        Assert.Equal(CertificateVerdict.NotIssuedHere, authority.Verify(KnownCertificate.Read(forged.RawData), CertificateKind.User, Now));
        Assert.Equal(CertificateVerdict.NotIssuedHere, authority.Verify(forged, CertificateKind.User, Now));
    }
}
