using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ActorVpn.Credentials;

namespace ActorVpn.Client;

/// <summary>Fig. 5 step 501: the proxy that relays a destination for this client (the only route the client knows).</summary>
public sealed record EntryProxy(string Proxy, string Address);

/// <summary>
/// A client profile (<c>NAME.avpn</c>, contract §2): the user's certificate 1 and key, the trust anchor
/// of its home auth server, and the entry proxy of each destination it may use.
/// </summary>
public sealed record ClientProfile(
    string User,
    string HomeServer,
    string CertificatePem,
    string PrivateKeyPem,
    string TrustAnchorPem,
    IReadOnlyDictionary<string, EntryProxy> Entries)
{
    public const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The user's certificate with its private key, as TLS presents it.</summary>
    public X509Certificate2 CertificateWithKey()
    {
        using var certificate = CertificateText.FromPem(CertificatePem);
        using var key = LeafKey.ImportPkcs8(CertificateText.PrivateKeyFromPem(PrivateKeyPem));
        return key.AttachTo(certificate);
    }

    public X509Certificate2 TrustAnchor() => CertificateText.FromPem(TrustAnchorPem);

    public void Save(string path)
    {
        // The profile holds a private key: readable by its owner only, from the first byte.
        SecretFiles.Write(path, JsonSerializer.Serialize(new StoredProfile(FormatVersion, this), Json));
    }

    /// <summary>Loads a profile; any problem is a <see cref="CredentialException"/> naming the file.</summary>
    public static ClientProfile Load(string path)
    {
        try
        {
            var stored = JsonSerializer.Deserialize<StoredProfile>(File.ReadAllText(path), Json)
                ?? throw new CredentialException("empty profile");
            if (stored.Version != FormatVersion || stored.Profile is null)
            {
                throw new CredentialException($"unsupported profile version {stored.Version}");
            }

            using var check = stored.Profile.CertificateWithKey();
            return stored.Profile;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or CredentialException or System.Security.Cryptography.CryptographicException)
        {
            throw new CredentialException($"{path}: not a usable client profile: {e.Message}", e);
        }
    }

    private sealed record StoredProfile(int Version, ClientProfile? Profile);
}
