using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace ActorVpn.Cluster;

/// <summary>
/// Akka.Remote over mutual TLS (hocon/remote.hocon): <c>akka.remote.dot-netty.tcp.enable-ssl</c>
/// (<c>AVPN_REMOTE_TLS</c>) with this node's own PKCS#12 certificate (<c>ssl.certificate.path</c> /
/// <c>password</c>, <c>AVPN_REMOTE_TLS_CERTIFICATE</c> / <c>AVPN_REMOTE_TLS_PASSWORD</c>).
/// <para>
/// Each node has its own certificate, issued by the cluster's CA; a peer is trusted when its
/// certificate chains to one of the CA certificates in <c>actorvpn.node.remote-tls.ca</c>
/// (<c>AVPN_REMOTE_TLS_CA</c>, a PEM bundle: during a CA rotation it holds the old and the new CA).
/// DotNetty asks the client for its certificate (<c>require-mutual-authentication</c>) and calls the
/// validator below on both ends of every handshake, so a client certificate is checked against the CA
/// too, not only the server's. Thumbprints in <c>actorvpn.node.remote-tls.pinned-thumbprints</c> (and,
/// when no CA is configured, the node's own certificate) are trusted as well.
/// </para>
/// <para>
/// A node whose transport binds anything but loopback refuses to start without TLS
/// (<see cref="RequireOnNetwork"/>): anything that reaches an open port 4053 could otherwise talk to
/// the auth servers.
/// </para>
/// </summary>
public static class RemoteTls
{
    public const string Section = "akka.remote.dot-netty.tcp";

    public const string CaKey = "actorvpn.node.remote-tls.ca";

    public static bool Enabled(Config config) => config.GetBoolean($"{Section}.enable-ssl", false);

    /// <summary>
    /// Fails fast when the transport binds a non-loopback address without verified TLS, saying how to turn it on.
    /// </summary>
    public static void RequireOnNetwork(Config config)
    {
        var hostname = config.GetString($"{Section}.hostname", string.Empty);
        if (IsLoopback(hostname))
        {
            return;
        }

        if (!Enabled(config))
        {
            throw new ConfigurationException(
                $"{Section}.hostname = \"{hostname}\" is not a loopback address, and Akka.Remote would carry the auth servers' traffic in plaintext to anyone who reaches the port. " +
                $"Turn on mutual TLS: AVPN_REMOTE_TLS=on, AVPN_REMOTE_TLS_CERTIFICATE=<this node's PKCS#12, issued by the cluster CA>, AVPN_REMOTE_TLS_PASSWORD, AVPN_REMOTE_TLS_CA=<the cluster CA, PEM> " +
                $"({Section}.enable-ssl, ssl.certificate.*, {CaKey}; see k8s/README.md), or bind 127.0.0.1 (AVPN_HOSTNAME).");
        }

        if (config.GetBoolean($"{Section}.ssl.suppress-validation", false))
        {
            throw new ConfigurationException(
                $"{Section}.ssl.suppress-validation is on while {Section}.hostname = \"{hostname}\" is not a loopback address: any peer would be trusted. Turn it off and set {CaKey} (AVPN_REMOTE_TLS_CA).");
        }
    }

    /// <summary>Is <paramref name="hostname"/> a loopback bind address (an empty one binds the machine's address)?</summary>
    public static bool IsLoopback(string hostname) =>
        string.Equals(hostname, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(hostname, out var address) && IPAddress.IsLoopback(address));

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
            throw new ConfigurationException($"{Section}.enable-ssl is on but {Section}.ssl.certificate.path is empty: set AVPN_REMOTE_TLS_CERTIFICATE to this node's PKCS#12 file");
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

        var authorities = LoadAuthorities(config.GetString(CaKey, string.Empty));
        var pins = config.GetStringList("actorvpn.node.remote-tls.pinned-thumbprints")
            .Concat(authorities.Count == 0 ? [certificate.Thumbprint] : [])
            .Select(p => p.Replace(":", string.Empty, StringComparison.Ordinal).ToUpperInvariant())
            .ToHashSet(StringComparer.Ordinal);
        if (authorities.Count > 0 && !ChainsTo(certificate, authorities))
        {
            throw new ConfigurationException($"{Section}.ssl.certificate.path: {path} ({certificate.Subject}) is not issued by a CA in {CaKey}; peers would refuse it");
        }

        return new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true,
            validateCertificateHostname: false, customValidator: Validator(authorities, pins));
    }

    /// <summary>The ActorSystem's set-up: the configuration, plus the verified TLS set-up when TLS is on.</summary>
    public static ActorSystemSetup SystemSetup(Config config)
    {
        var bootstrap = Akka.Actor.BootstrapSetup.Create().WithConfig(config);
        return SetupFor(config) is { } tls ? bootstrap.And(tls) : ActorSystemSetup.Create(bootstrap);
    }

    /// <summary>
    /// Accepts a peer (server or client side) whose certificate chains to one of <paramref name="authorities"/>
    /// or is pinned. Host names are not checked: peers are addressed by pod names that a node's
    /// certificate need not carry; the CA, which issues only to cluster nodes, is the trust.
    /// </summary>
    private static CertificateValidationCallback Validator(X509Certificate2Collection authorities, IReadOnlySet<string> pins) =>
        (certificate, _, remotePeer, _, log) =>
        {
            if (certificate is null)
            {
                log?.Warning("Akka.Remote TLS: {0} presented no certificate", remotePeer);
                return false;
            }

            if (pins.Contains(certificate.Thumbprint.ToUpperInvariant()) || (authorities.Count > 0 && ChainsTo(certificate, authorities)))
            {
                return true;
            }

            log?.Warning("Akka.Remote TLS: refused {0}: its certificate ({1}, issuer {2}) is not issued by the cluster CA ({3}) nor pinned",
                remotePeer, certificate.Subject, certificate.Issuer, CaKey);
            return false;
        };

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        return chain.Build(certificate);
    }

    private static X509Certificate2Collection LoadAuthorities(string path)
    {
        var authorities = new X509Certificate2Collection();
        if (path.Length == 0)
        {
            return authorities;
        }

        if (!File.Exists(path))
        {
            throw new ConfigurationException($"{CaKey}: {path} not found");
        }

        authorities.ImportFromPemFile(path);
        if (authorities.Count == 0)
        {
            throw new ConfigurationException($"{CaKey}: {path} holds no PEM certificate");
        }

        return authorities;
    }
}
