using System.Security.Cryptography.X509Certificates;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Remote.Transport.DotNetty;

namespace ActorVpn.Cluster;

/// <summary>
/// Akka.Remote over TLS by configuration (hocon/remote.hocon): <c>akka.remote.dot-netty.tcp.enable-ssl</c>
/// (<c>AVPN_REMOTE_TLS</c>) with a PKCS#12 certificate (<c>ssl.certificate.path</c> / <c>password</c>,
/// <c>AVPN_REMOTE_TLS_CERTIFICATE</c> / <c>AVPN_REMOTE_TLS_PASSWORD</c>). Mutual authentication is
/// required. A cluster's certificate is normally its own (self-signed, or from a private CA), which no
/// system trust store knows, so a peer is trusted by <b>pin</b>: its certificate's thumbprint must be
/// the node's own (every node presents the same certificate) or one of
/// <c>actorvpn.node.remote-tls.pinned-thumbprints</c>. A node without such a certificate cannot
/// associate, so it cannot join.
/// </summary>
public static class RemoteTls
{
    public const string Section = "akka.remote.dot-netty.tcp";

    public static bool Enabled(Config config) => config.GetBoolean($"{Section}.enable-ssl", false);

    /// <summary>The DotNetty SSL set-up for the ActorSystem, or null when TLS is off or validation is suppressed (then the HOCON alone applies).</summary>
    public static DotNettySslSetup? SetupFor(Config config)
    {
        if (!Enabled(config) || config.GetBoolean($"{Section}.ssl.suppress-validation", false))
        {
            return null;
        }

        var path = config.GetString($"{Section}.ssl.certificate.path", string.Empty);
        if (path.Length == 0)
        {
            throw new ConfigurationException($"{Section}.enable-ssl is on but {Section}.ssl.certificate.path is empty: set AVPN_REMOTE_TLS_CERTIFICATE to a PKCS#12 file");
        }

        if (!File.Exists(path))
        {
            throw new ConfigurationException($"{Section}.ssl.certificate.path: {path} not found");
        }

        var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, config.GetString($"{Section}.ssl.certificate.password", string.Empty));
        if (!certificate.HasPrivateKey)
        {
            throw new ConfigurationException($"{Section}.ssl.certificate.path: {path} holds no private key");
        }

        var pins = config.GetStringList("actorvpn.node.remote-tls.pinned-thumbprints")
            .Append(certificate.Thumbprint)
            .Select(p => p.Replace(":", string.Empty, StringComparison.Ordinal).ToUpperInvariant())
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        return new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true,
            validateCertificateHostname: false, customValidator: CertificateValidation.PinnedCertificate(pins));
    }

    /// <summary>The ActorSystem's set-up: the configuration, plus the pinned TLS set-up when TLS is on.</summary>
    public static ActorSystemSetup SystemSetup(Config config)
    {
        var bootstrap = Akka.Actor.BootstrapSetup.Create().WithConfig(config);
        return SetupFor(config) is { } tls ? bootstrap.And(tls) : ActorSystemSetup.Create(bootstrap);
    }
}
