using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ActorVpn.Credentials;

namespace ActorVpn.OperatorConsole;

/// <summary>
/// The console's own signing authority, created when a node starts its console: it issues the node's
/// console identity and the operator certificates, and is the only anchor a console client is checked
/// against. Nothing an auth server issued (user, proxy, inter-server certificates) opens the console.
/// With a data directory it is kept in <c>DATA/console-authority.json</c> (0600, next to
/// <c>admin.avpn</c>), so operator credentials stay valid across restarts.
/// </summary>
public sealed class ConsoleAuthority : IDisposable
{
    public const string ServerName = "avpn-console";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly SigningAuthority _authority;

    private ConsoleAuthority(SigningAuthority authority, X509Certificate2 serverIdentity)
    {
        _authority = authority;
        ServerIdentity = serverIdentity;
    }

    /// <summary>The node's console identity, with its private key (the TLS server certificate).</summary>
    public X509Certificate2 ServerIdentity { get; }

    /// <summary>The operators this authority issued certificates to, and which are revoked (in memory until <see cref="KeepOperatorsIn"/>).</summary>
    public OperatorRegistry Operators { get; private set; } = OperatorRegistry.InMemory();

    public string ServerPin => Pins.SpkiSha256(ServerIdentity);

    public static ConsoleAuthority Create(DateTimeOffset now)
    {
        var authority = SigningAuthority.Create("console", now);
        using var key = LeafKey.Create();
        using var issued = authority.Issue(CertificateKind.Proxy, ServerName, key.SubjectPublicKeyInfo, now.AddMinutes(-5), now.AddYears(5));
        return new ConsoleAuthority(authority, key.AttachTo(issued));
    }

    /// <summary>The authority kept in <paramref name="path"/>, or a new one written there (readable by its owner only).</summary>
    /// <exception cref="CredentialException">The file exists but is not a console authority.</exception>
    public static ConsoleAuthority LoadOrCreate(string path, DateTimeOffset now)
    {
        if (File.Exists(path))
        {
            return Load(path, now);
        }

        var created = Create(now);
        try
        {
            created.Save(path);
            return created;
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    private static ConsoleAuthority Load(string path, DateTimeOffset now)
    {
        SigningAuthority? authority = null;
        try
        {
            var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path), Json) ?? throw new CredentialException("empty file");
            using (var anchor = CertificateText.FromPem(stored.AuthorityCertificatePem))
            {
                authority = SigningAuthority.Import("console", CertificateText.PrivateKeyFromPem(stored.AuthorityKeyPem), anchor.RawData);
            }

            using var key = LeafKey.ImportPkcs8(CertificateText.PrivateKeyFromPem(stored.ServerKeyPem));
            using var certificate = CertificateText.FromPem(stored.ServerCertificatePem);
            if (authority.Verify(certificate, CertificateKind.Proxy, now) != CertificateVerdict.Valid)
            {
                throw new CredentialException("the console identity is not valid under the stored authority (expired?)");
            }

            return new ConsoleAuthority(authority, key.AttachTo(certificate));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or CredentialException or CryptographicException or ArgumentException)
        {
            authority?.Dispose();
            throw new CredentialException($"{path}: not a usable console authority ({e.Message}); remove it and admin.avpn to issue new ones", e);
        }
    }

    private void Save(string path)
    {
        using var key = ServerIdentity.GetECDsaPrivateKey() ?? throw new CredentialException("the console identity has no private key");
        var stored = new Stored(CertificateText.ToPem(_authority.Certificate), CertificateText.PrivateKeyToPem(_authority.ExportPkcs8PrivateKey()),
            CertificateText.ToPem(ServerIdentity), CertificateText.PrivateKeyToPem(key.ExportPkcs8PrivateKey()));
        // Private keys: readable by the owner only, from the first byte.
        SecretFiles.Write(path, JsonSerializer.Serialize(stored, Json));
    }

    /// <summary>Keeps the operator registry in <paramref name="path"/> (loaded if it exists), so revocations survive a restart.</summary>
    public void KeepOperatorsIn(string path) => Operators = OperatorRegistry.LoadOrCreate(path);

    /// <summary>Is <paramref name="credential"/> an operator credential of this console (its anchor, its pin, a valid operator certificate)?</summary>
    public bool Issued(OperatorCredential credential, DateTimeOffset now)
    {
        try
        {
            using var certificate = CertificateText.FromPem(credential.CertificatePem);
            return credential.ServerPin == ServerPin
                && credential.ConsoleAnchorPem.Trim() == CertificateText.ToPem(_authority.Certificate).Trim()
                && IsOperator(certificate, now);
        }
        catch (Exception e) when (e is CredentialException or CryptographicException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Issues an operator credential (certificate of kind <see cref="CertificateKind.Operator"/> and a fresh key).</summary>
    public OperatorCredential IssueOperator(string name, string endpoint, DateTimeOffset now)
    {
        using var key = LeafKey.Create();
        using var certificate = _authority.Issue(CertificateKind.Operator, name, key.SubjectPublicKeyInfo, now.AddMinutes(-5), now.AddYears(1));
        Operators.Issued(name, certificate.SerialNumber, now);
        return new OperatorCredential(endpoint, CertificateText.ToPem(_authority.Certificate), ServerPin,
            CertificateText.ToPem(certificate), CertificateText.PrivateKeyToPem(key.ExportPkcs8PrivateKey()));
    }

    /// <summary>Is <paramref name="presented"/> an operator certificate of this console, valid now and not revoked?</summary>
    public bool IsOperator(X509Certificate2 presented, DateTimeOffset now) =>
        _authority.Verify(presented, CertificateKind.Operator, now) == CertificateVerdict.Valid
        && !Operators.IsRevoked(presented.GetNameInfo(X509NameType.SimpleName, forIssuer: false), presented.SerialNumber);

    private sealed record Stored(string AuthorityCertificatePem, string AuthorityKeyPem, string ServerCertificatePem, string ServerKeyPem);

    public void Dispose()
    {
        ServerIdentity.Dispose();
        _authority.Dispose();
    }
}
