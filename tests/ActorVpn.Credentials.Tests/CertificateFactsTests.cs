using System.Numerics;
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

    [Fact]
    public void Serial_number_read_from_the_der_alone_is_the_certificates_serial_number()
    {
        using var authority = Authority();
        for (var i = 0; i < 64; i++) // random serials: about half of them need a leading zero octet in DER
        {
            using var cert = IssueFresh(authority, CertificateKind.User, $"user{i}");

            var fromDer = CertificateFacts.SerialNumberOf(cert.RawData);

            Assert.Equal(Unsigned(cert.SerialNumberBytes.Span), Unsigned(fromDer.Span));
        }

        Assert.Equal(Unsigned(authority.Certificate.SerialNumberBytes.Span), Unsigned(CertificateFacts.SerialNumberOf(authority.Certificate.RawData).Span));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x30, 0x03, 0x02, 0x01 })]
    [InlineData(new byte[] { 0x04, 0x02, 0x01, 0x02 })]
    public void Serial_number_of_something_that_is_no_certificate_is_refused(byte[] data)
    {
        Assert.Throws<CredentialException>(() => CertificateFacts.SerialNumberOf(data));
    }

    private static BigInteger Unsigned(ReadOnlySpan<byte> bigEndian) => new(bigEndian, isUnsigned: true, isBigEndian: true);
}
