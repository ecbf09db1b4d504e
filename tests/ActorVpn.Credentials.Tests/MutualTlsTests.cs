using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Xunit;

namespace ActorVpn.Credentials.Tests;

public sealed class MutualTlsTests
{
    [Fact]
    public async Task Proxy_and_user_certificates_complete_a_tls13_mutual_handshake_over_loopback()
    {
        var now = DateTimeOffset.UtcNow;
        using var authority = SigningAuthority.Create("as1", now.AddMinutes(-5));
        using var proxyKey = LeafKey.Create();
        using var userKey = LeafKey.Create();
        using var proxyCert = authority.Issue(CertificateKind.Proxy, "proxy1", proxyKey.SubjectPublicKeyInfo, now.AddMinutes(-1), now.AddHours(1));
        using var userCert = authority.Issue(CertificateKind.User, "alice", userKey.SubjectPublicKeyInfo, now.AddMinutes(-1), now.AddHours(1));
        using var proxyTlsCert = proxyKey.AttachTo(proxyCert);
        using var userTlsCert = userKey.AttachTo(userCert);
        using var anchor = CertificateText.FromPem(CertificateText.ToPem(authority.Certificate)); // what a client profile holds
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var serverSide = Task.Run(async () =>
            {
                using var socket = await listener.AcceptTcpClientAsync(timeout.Token);
                await using var tls = new SslStream(socket.GetStream());
                await tls.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = SslStreamCertificateContext.Create(proxyTlsCert, null, offline: true),
                        ClientCertificateRequired = true,
                        EnabledSslProtocols = SslProtocols.Tls13,
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                        RemoteCertificateValidationCallback = (_, cert, _, _) =>
                            cert is X509Certificate2 user
                            && authority.Verify(user, CertificateKind.User, DateTimeOffset.UtcNow) == CertificateVerdict.Valid,
                    },
                    timeout.Token);
                var client = Assert.IsType<X509Certificate2>(tls.RemoteCertificate, exactMatch: false);
                var buffer = new byte[4];
                await tls.ReadExactlyAsync(buffer, timeout.Token);
                await tls.WriteAsync(buffer, timeout.Token);
                return (CertificateFacts.SubjectName(client), tls.SslProtocol);
            });

            using var connection = new TcpClient();
            await connection.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            await using var clientTls = new SslStream(connection.GetStream());
            await clientTls.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = "proxy1",
                    ClientCertificateContext = SslStreamCertificateContext.Create(userTlsCert, null, offline: true),
                    EnabledSslProtocols = SslProtocols.Tls13,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = (_, cert, _, _) =>
                        cert is X509Certificate2 proxy
                        && ProxyIdentity.VerifyAgainstAnchor(proxy, anchor, "proxy1", DateTimeOffset.UtcNow) == CertificateVerdict.Valid,
                },
                timeout.Token);
            await clientTls.WriteAsync("ping"u8.ToArray(), timeout.Token);
            var echo = new byte[4];
            await clientTls.ReadExactlyAsync(echo, timeout.Token);

            var (clientName, serverProtocol) = await serverSide;
            Assert.Equal("alice", clientName);
            Assert.Equal(SslProtocols.Tls13, serverProtocol);
            Assert.Equal(SslProtocols.Tls13, clientTls.SslProtocol);
            Assert.Equal("proxy1", CertificateFacts.SubjectName(Assert.IsType<X509Certificate2>(clientTls.RemoteCertificate, exactMatch: false)));
            Assert.Equal("ping"u8.ToArray(), echo);
        }
        finally
        {
            listener.Stop();
        }
    }
}
