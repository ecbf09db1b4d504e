using System.Security.Cryptography.X509Certificates;
using ActorVpn.Credentials;

namespace ActorVpn.OperatorConsole;

/// <summary>
/// The console's own signing authority, created when a node starts its console: it issues the node's
/// console identity and the operator certificates, and is the only anchor a console client is checked
/// against. Nothing an auth server issued (user, proxy, inter-server certificates) opens the console.
/// </summary>
public sealed class ConsoleAuthority : IDisposable
{
    public const string ServerName = "avpn-console";

    private readonly SigningAuthority _authority;

    private ConsoleAuthority(SigningAuthority authority, X509Certificate2 serverIdentity)
    {
        _authority = authority;
        ServerIdentity = serverIdentity;
    }

    /// <summary>The node's console identity, with its private key (the TLS server certificate).</summary>
    public X509Certificate2 ServerIdentity { get; }

    public string ServerPin => Pins.SpkiSha256(ServerIdentity);

    public static ConsoleAuthority Create(DateTimeOffset now)
    {
        var authority = SigningAuthority.Create("console", now);
        using var key = LeafKey.Create();
        using var issued = authority.Issue(CertificateKind.Proxy, ServerName, key.SubjectPublicKeyInfo, now.AddMinutes(-5), now.AddYears(5));
        return new ConsoleAuthority(authority, key.AttachTo(issued));
    }

    /// <summary>Issues an operator credential (certificate of kind <see cref="CertificateKind.Operator"/> and a fresh key).</summary>
    public OperatorCredential IssueOperator(string name, string endpoint, DateTimeOffset now)
    {
        using var key = LeafKey.Create();
        using var certificate = _authority.Issue(CertificateKind.Operator, name, key.SubjectPublicKeyInfo, now.AddMinutes(-5), now.AddYears(1));
        return new OperatorCredential(endpoint, CertificateText.ToPem(_authority.Certificate), ServerPin,
            CertificateText.ToPem(certificate), CertificateText.PrivateKeyToPem(key.ExportPkcs8PrivateKey()));
    }

    /// <summary>Is <paramref name="presented"/> an operator certificate of this console, valid now?</summary>
    public bool IsOperator(X509Certificate2 presented, DateTimeOffset now) =>
        _authority.Verify(presented, CertificateKind.Operator, now) == CertificateVerdict.Valid;

    public void Dispose()
    {
        ServerIdentity.Dispose();
        _authority.Dispose();
    }
}
