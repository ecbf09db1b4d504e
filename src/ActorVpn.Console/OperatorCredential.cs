using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ActorVpn.Credentials;

namespace ActorVpn.OperatorConsole;

/// <summary>
/// <c>DATA/admin.avpn</c> (<c>avpn console --admin P</c>): where the console listens, the console
/// authority's certificate (its trust anchor), the pin of the node's console identity, and the
/// operator's certificate and private key for mutual TLS.
/// </summary>
public sealed record OperatorCredential(string Endpoint, string ConsoleAnchorPem, string ServerPin, string CertificatePem, string PrivateKeyPem)
{
    public const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public X509Certificate2 CertificateWithKey() => LeafKey.CertificateWithKey(CertificatePem, PrivateKeyPem);

    /// <summary>The credential as its file holds it (what <c>operator add</c> hands to the operator's side to save).</summary>
    public string ToFileText() => JsonSerializer.Serialize(new Stored(FormatVersion, this), Json);

    /// <summary>A credential from its file's text.</summary>
    /// <exception cref="CredentialException">Not an operator credential, or its key does not fit its certificate.</exception>
    public static OperatorCredential FromFileText(string text)
    {
        try
        {
            var stored = JsonSerializer.Deserialize<Stored>(text, Json) ?? throw new CredentialException("empty file");
            if (stored.Version != FormatVersion || stored.Credential is null)
            {
                throw new CredentialException("not an operator credential (written by `avpn up` as DATA/admin.avpn, or by `operator add`)");
            }

            using var check = stored.Credential.CertificateWithKey();
            return stored.Credential;
        }
        catch (Exception e) when (e is JsonException or CryptographicException)
        {
            throw new CredentialException(e.Message, e);
        }
    }

    public void Save(string path)
    {
        // It holds a private key: readable by its owner only, from the first byte.
        SecretFiles.Write(path, JsonSerializer.Serialize(new Stored(FormatVersion, this), Json));
    }

    /// <exception cref="CredentialException">The file is missing or not an operator credential (naming the file, the field and what to do).</exception>
    public static OperatorCredential Load(string path) =>
        CredentialFile.Read<OperatorCredential>(path, CredentialFileKind.OperatorCredential, Json, credential =>
        {
            using var check = credential.CertificateWithKey();
        });

    private sealed record Stored(int Version, OperatorCredential? Credential);
}
