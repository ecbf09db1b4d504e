using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Wire;

/// <summary>
/// TLS 1.3 only, mutual authentication, for every hop. Both sides leave the transport open when the
/// <see cref="SslStream"/> is disposed: a client may stop using a hop's TLS layer and speak a new TLS
/// session raw over the same transport (through the proxy's raw relay), so data is encrypted once,
/// client ↔ exit proxy. On failure the <see cref="SslStream"/> is disposed; the transport is the caller's.
///
/// A returning client resumes its TLS 1.3 session with each hop (a PSK from the hop's session ticket, with a fresh key
/// exchange): no certificate signatures and no certificate parsing on either side. The proxy still learns the client's
/// certificate, from the session it resumes, and hands it to its auth server as on a full handshake, which judges it again
/// (revocation, expiry, the hand-off it holds for it); only the client that completed the full handshake holds the
/// session's secret, so a resumed session is always that client's. The client still checks the proxy's certificate, from the
/// session, against the route's pin.
/// </summary>
public static class TlsHop
{
    /// <summary>
    /// The server name (SNI) every client hop sends. A hop's ClientHello is readable by whoever carries it (the client's link,
    /// and the proxies before it, which relay later hops raw), so naming the next proxy there would tell an observer the route.
    /// Every hop sends this one name instead; the pin its auth server put on the route identifies the proxy (Fig. 9, step 910).
    /// </summary>
    public const string ServerName = "avpn-proxy";

    /// <summary>
    /// The server name hop <paramref name="hop"/> (0 for the entry proxy) asks for: <see cref="ServerName"/>, its letters' case
    /// set by the hop's position. Server names compare case-insensitively (a proxy records it lower-cased), so every hop still
    /// asks for the one name; but the client keeps one TLS session to resume per exact name, and with one spelling for all
    /// hops each hop's new session ticket would replace the previous hop's, so no hop would ever resume. The spelling shows
    /// only the hop's position, which the sequence of handshakes on the connection shows anyway.
    /// </summary>
    public static string ServerNameForHop(int hop)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(hop);
        var name = ServerName.ToCharArray();
        var bit = 0;
        for (var i = 0; i < name.Length && bit < 31; i++)
        {
            if (char.IsAsciiLetter(name[i]))
            {
                name[i] = (hop & (1 << bit)) != 0 ? char.ToUpperInvariant(name[i]) : name[i];
                bit++;
            }
        }

        return hop >> Math.Min(bit, 31) == 0 ? new string(name) : ServerName;
    }

    // A certificate context builds the certificate's chain once; handing SslStream a bare certificate rebuilds it on every handshake.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<X509Certificate2, SslStreamCertificateContext> Contexts = new();

    private static SslStreamCertificateContext ContextFor(X509Certificate2 certificate) =>
        Contexts.GetValue(certificate, c => SslStreamCertificateContext.Create(c, additionalCertificates: null, offline: true));

    /// <summary>
    /// Proxy side: presents <paramref name="serverCertificate"/> (with its private key) and requires a client
    /// certificate, which is returned. Validating it is the auth server's job: only its presence is checked here.
    /// </summary>
    /// <exception cref="AuthenticationException">The handshake failed or the client presented no certificate.</exception>
    public static async Task<(SslStream Tls, X509Certificate2 ClientCertificate)> AcceptAsync(
        Stream transport, X509Certificate2 serverCertificate, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(serverCertificate);

        var tls = new SslStream(transport, leaveInnerStreamOpen: true);
        try
        {
            var options = new SslServerAuthenticationOptions
            {
                ServerCertificateContext = ContextFor(serverCertificate),
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = NoSystemTrust(),
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null,
            };
            await tls.AuthenticateAsServerAsync(options, ct).ConfigureAwait(false);
            var client = AsCertificate2(tls.RemoteCertificate)
                ?? throw new AuthenticationException("the client presented no certificate");
            return (tls, client);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Client side: presents <paramref name="clientCertificate"/>; the server is accepted only if
    /// <paramref name="verifyServer"/> returns true for its certificate (pinning or anchor checks are the caller's).
    /// </summary>
    /// <exception cref="AuthenticationException">The handshake failed or <paramref name="verifyServer"/> refused the server.</exception>
    public static async Task<SslStream> ConnectAsync(
        Stream transport, string targetHost, X509Certificate2 clientCertificate, Func<X509Certificate2, bool> verifyServer, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentException.ThrowIfNullOrEmpty(targetHost);
        ArgumentNullException.ThrowIfNull(clientCertificate);
        ArgumentNullException.ThrowIfNull(verifyServer);

        var tls = new SslStream(transport, leaveInnerStreamOpen: true);
        try
        {
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = targetHost,
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                ClientCertificateContext = ContextFor(clientCertificate),
                CertificateChainPolicy = NoSystemTrust(),
                RemoteCertificateValidationCallback = (_, certificate, _, _) => Verify(certificate, verifyServer),
            };
            await tls.AuthenticateAsClientAsync(options, ct).ConfigureAwait(false);
            return tls;
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The pin of a certificate as carried in <see cref="RouteHop.Pin"/>: base64 SHA-256 of its SubjectPublicKeyInfo.</summary>
    public static string SpkiPin(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToBase64String(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
    }

    /// <summary>
    /// The chain SslStream builds before calling the validation callback is never what decides (the callbacks judge the
    /// certificate themselves: the auth server, pins, <c>ProxyIdentity</c>), so it is built against an empty custom trust
    /// store instead of the machine's ~150 roots: on OpenSSL 3 sorting and searching those was ~20% of a session's set-up CPU.
    /// </summary>
    private static X509ChainPolicy NoSystemTrust() => new()
    {
        TrustMode = X509ChainTrustMode.CustomRootTrust,
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
        UrlRetrievalTimeout = TimeSpan.Zero,
    };

    private static bool Verify(X509Certificate? certificate, Func<X509Certificate2, bool> verifyServer)
    {
        var server = AsCertificate2(certificate);
        if (server is null)
        {
            return false;
        }

        try
        {
            return verifyServer(server);
        }
        catch (Exception)
        {
            // A verifier that throws refuses the server.
            return false;
        }
    }

    private static X509Certificate2? AsCertificate2(X509Certificate? certificate) => certificate switch
    {
        null => null,
        X509Certificate2 c => c,
        _ => X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()),
    };
}
