using Xunit;
using static ActorVpn.Credentials.Tests.Fixtures;

namespace ActorVpn.Credentials.Tests;

public sealed class ProxyIdentityTests
{
    [Fact]
    public void Proxy_certificate_from_the_anchor_with_the_expected_name_is_valid()
    {
        using var authority = Authority("as1");
        using var cert = IssueFresh(authority, CertificateKind.Proxy, "proxy1");
        using var anchor = CertificateText.FromDer(authority.Certificate.RawData);

        Assert.Equal(CertificateVerdict.Valid, ProxyIdentity.VerifyAgainstAnchor(cert, anchor, "proxy1", Now));
        Assert.Equal(CertificateVerdict.Valid, ProxyIdentity.VerifyAgainstAnchor(cert, anchor, "PROXY1", Now));
    }

    [Fact]
    public void Genuine_certificate_of_another_proxy_is_rejected()
    {
        using var authority = Authority("as1");
        using var cert = IssueFresh(authority, CertificateKind.Proxy, "proxy2");

        Assert.Equal(CertificateVerdict.WrongKind, ProxyIdentity.VerifyAgainstAnchor(cert, authority.Certificate, "proxy1", Now));
    }

    [Fact]
    public void User_certificate_named_like_the_proxy_is_wrong_kind()
    {
        using var authority = Authority("as1");
        using var cert = IssueFresh(authority, CertificateKind.User, "proxy1");

        Assert.Equal(CertificateVerdict.WrongKind, ProxyIdentity.VerifyAgainstAnchor(cert, authority.Certificate, "proxy1", Now));
    }

    [Fact]
    public void Proxy_certificate_from_another_anchor_is_not_issued_here()
    {
        using var anchor = Authority("as1");
        using var impostor = Authority("as1");
        using var cert = IssueFresh(impostor, CertificateKind.Proxy, "proxy1");

        Assert.Equal(CertificateVerdict.NotIssuedHere, ProxyIdentity.VerifyAgainstAnchor(cert, anchor.Certificate, "proxy1", Now));
    }

    [Fact]
    public void Expired_proxy_certificate_is_expired()
    {
        using var authority = Authority("as1");
        using var cert = IssueFresh(authority, CertificateKind.Proxy, "proxy1", Now.AddDays(-3), Now.AddDays(-1));

        Assert.Equal(CertificateVerdict.Expired, ProxyIdentity.VerifyAgainstAnchor(cert, authority.Certificate, "proxy1", Now));
    }
}
