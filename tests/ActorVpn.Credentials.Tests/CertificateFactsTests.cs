using Xunit;
using static ActorVpn.Credentials.Tests.Fixtures;

namespace ActorVpn.Credentials.Tests;

public sealed class CertificateFactsTests
{
    [Theory]
    [InlineData(CertificateKind.User, "alice")]
    [InlineData(CertificateKind.Proxy, "proxy3")]
    [InlineData(CertificateKind.InterServer, "as4")]
    [InlineData(CertificateKind.Operator, "admin")]
    public void Facts_read_back_what_was_issued(CertificateKind kind, string name)
    {
        using var authority = Authority();
        using var cert = IssueFresh(authority, kind, name);

        Assert.Equal(name, CertificateFacts.SubjectName(cert));
        Assert.Equal(kind, CertificateFacts.KindOf(cert));
    }

    [Fact]
    public void Authority_certificate_has_no_leaf_kind()
    {
        using var authority = Authority("console");

        Assert.Equal("console", CertificateFacts.SubjectName(authority.Certificate));
        Assert.Null(CertificateFacts.KindOf(authority.Certificate));
    }
}
