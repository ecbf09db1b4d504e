using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ActorVpn.Credentials;
using ActorVpn.Topology;

namespace ActorVpn.Client;

/// <summary>
/// Fig. 5 step 501: the proxy that relays a destination for this client (the only route the client knows), and
/// the destination's own address as the topology gives it (so a SOCKS5 or HTTP CONNECT request by address finds
/// it; null in profiles written before it was recorded: those resolve by name only).
/// </summary>
public sealed record EntryProxy(string Proxy, string Address, string? DestinationAddress = null);

/// <summary>
/// A client profile (<c>NAME.avpn</c>): the user's certificate 1 and key, the trust anchor
/// of its home auth server, and the entry proxy of each destination it may use.
/// </summary>
/// <param name="NextTrustAnchorPem">
/// Written while the home server rotates its signing key: the new key's anchor. The entry proxy's identity is accepted
/// from either anchor, so the profile keeps working when the proxies' identities move to the new key (the rotation's finish).
/// Absent from profiles written outside a rotation, and ignored by readers that predate it.
/// </param>
public sealed record ClientProfile(
    string User,
    string HomeServer,
    string CertificatePem,
    string PrivateKeyPem,
    string TrustAnchorPem,
    IReadOnlyDictionary<string, EntryProxy> Entries,
    string? NextTrustAnchorPem = null)
{
    public const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The user's certificate with its private key, as TLS presents it.</summary>
    public X509Certificate2 CertificateWithKey() => LeafKey.CertificateWithKey(CertificatePem, PrivateKeyPem);

    public X509Certificate2 TrustAnchor() => CertificateText.FromPem(TrustAnchorPem);

    public X509Certificate2? NextTrustAnchor() => NextTrustAnchorPem is { Length: > 0 } pem ? CertificateText.FromPem(pem) : null;

    /// <summary>The PEM of a home server's new anchor, as a profile holds it, or null outside a rotation.</summary>
    public static string? NextAnchorPem(byte[]? der)
    {
        if (der is null)
        {
            return null;
        }

        using var anchor = CertificateText.FromDer(der);
        return CertificateText.ToPem(anchor);
    }

    /// <summary>
    /// The destination a local application means by <paramref name="host"/> and <paramref name="port"/>: a destination's
    /// name (any port), or the address the topology gives a destination. Null for anything else: such a request never
    /// leaves this machine.
    /// </summary>
    public string? ResolveDestination(string host, int port)
    {
        if (Entries.ContainsKey(host))
        {
            return host;
        }

        var asked = new HostPort(host, port);
        foreach (var (destination, entry) in Entries)
        {
            if (entry.DestinationAddress is { } address && HostPort.TryParse(address, out _) is { } known
                && known.Port == asked.Port && SameHost(known.Host, asked.Host))
            {
                return destination;
            }
        }

        return null;
    }

    /// <summary>The same host name, or the same IP address however written (127.0.0.1 is ::ffff:127.0.0.1).</summary>
    private static bool SameHost(string a, string b) =>
        string.Equals(a, b, StringComparison.OrdinalIgnoreCase)
        || (System.Net.IPAddress.TryParse(a, out var x) && System.Net.IPAddress.TryParse(b, out var y) && Canonical(x).Equals(Canonical(y)));

    private static System.Net.IPAddress Canonical(System.Net.IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    public void Save(string path)
    {
        // The profile holds a private key: readable by its owner only, from the first byte.
        SecretFiles.Write(path, JsonSerializer.Serialize(new StoredProfile(FormatVersion, this), Json));
    }

    /// <summary>Loads a profile; any problem is a <see cref="CredentialException"/> naming the file, the field and what to do.</summary>
    public static ClientProfile Load(string path) =>
        CredentialFile.Read<ClientProfile>(path, CredentialFileKind.ClientProfile, Json, profile =>
        {
            using var check = profile.CertificateWithKey();
            using var anchor = profile.TrustAnchor();
            using var next = profile.NextTrustAnchor();
        });

    private sealed record StoredProfile(int Version, ClientProfile? Profile);
}
