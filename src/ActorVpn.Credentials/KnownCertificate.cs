using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>
/// One DER certificate, parsed once: what it says about itself (like <see cref="CertificateFacts"/>) and the
/// time-independent part of every verdict already reached about it against a trust anchor (issued by that anchor,
/// of the expected kind and name). Says nothing about whether the certificate is genuine: use
/// <see cref="SigningAuthority.Verify(KnownCertificate, CertificateKind, DateTimeOffset)"/>, which re-checks the
/// validity period against the caller's clock on every call, so an expired certificate is refused at once.
/// Revocation is not a property of a certificate: the caller checks it on every use (as the auth servers do).
/// </summary>
/// <remarks>Why a cache is sound: a certificate's signature, issuer, subject, kind and names are fixed by its DER
/// bytes and the anchor's DER bytes, so the verdict on them never changes; only time does, and time is never
/// cached. Entries are found by SHA-256 of the DER and then compared byte for byte, so no other certificate
/// (tampered signature, same subject from another authority) can ever reuse an entry.</remarks>
public sealed class KnownCertificate
{
    /// <summary>Upper bound on certificates remembered per process; reaching it starts the cache afresh.</summary>
    public const int MaxEntries = 4096;

    private static readonly ConcurrentDictionary<DerHash, KnownCertificate> Cache = new();

    private readonly byte[] _der;
    private readonly byte[]? _subjectPublicKeyInfo;
    private readonly ConcurrentDictionary<VerdictKey, CertificateVerdict> _verdicts = new();
    private readonly object _keyLock = new();
    private ECDsa? _publicKey;
    private bool _publicKeyRead;

    private KnownCertificate(byte[] der, X509Certificate2 certificate)
    {
        _der = der;
        Hash = DerHash.Of(der);
        SubjectName = SafeRead(() => CertificateFacts.TrySubjectName(certificate));
        Kind = SafeRead(() => CertificateFacts.ReadKind(certificate));
        DnsNames = SafeRead(() => CertificateFacts.DnsNames(certificate).ToArray()) ?? [];
        SerialNumber = certificate.SerialNumberBytes.ToArray();
        NotBeforeUtc = certificate.NotBefore.ToUniversalTime();
        NotAfterUtc = certificate.NotAfter.ToUniversalTime();
        IssuerName = certificate.IssuerName.RawData;
        _subjectPublicKeyInfo = SafeRead(() => certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>The subject's one common name, or null when there is not exactly one.</summary>
    public string? SubjectName { get; }

    /// <summary>The kind the certificate claims, or null when it is no ActorVpn leaf (see <see cref="CertificateFacts.KindOf"/>).</summary>
    public CertificateKind? Kind { get; }

    /// <summary>Serial number, big-endian, as encoded.</summary>
    public ReadOnlyMemory<byte> SerialNumber { get; }

    public DateTime NotBeforeUtc { get; }

    public DateTime NotAfterUtc { get; }

    /// <summary>The DER encoding (a read-only view; never a copy).</summary>
    public ReadOnlyMemory<byte> Der => _der;

    internal IReadOnlyList<string> DnsNames { get; }

    internal byte[] IssuerName { get; }

    internal DerHash Hash { get; }

    /// <summary>Number of certificates remembered now (for tests and diagnostics).</summary>
    public static int CachedCount => Cache.Count;

    /// <summary>Valid at <paramref name="now"/> by its own validity period (nothing else is checked).</summary>
    public bool IsCurrent(DateTimeOffset now) => ValidityAt(now) == CertificateVerdict.Valid;

    /// <summary>
    /// Where <paramref name="now"/> falls in the validity period: X.509 (RFC 5280, 4.1.2.5) makes a certificate valid from
    /// NotBefore through NotAfter, both inclusive. The one time check of every certificate (no caller compares the bounds itself).
    /// </summary>
    public CertificateVerdict ValidityAt(DateTimeOffset now) =>
        now.UtcDateTime < NotBeforeUtc ? CertificateVerdict.NotYetValid
        : now.UtcDateTime > NotAfterUtc ? CertificateVerdict.Expired
        : CertificateVerdict.Valid;

    /// <summary>Reads exactly one DER certificate (as <see cref="CertificateText.FromDer"/>), parsing it only the first time.</summary>
    /// <exception cref="CredentialException">Not a DER certificate, or trailing bytes.</exception>
    public static KnownCertificate Read(ReadOnlySpan<byte> der)
    {
        var hash = DerHash.Of(der);
        if (Cache.TryGetValue(hash, out var known) && der.SequenceEqual(known._der))
        {
            return known;
        }

        using var certificate = CertificateText.FromDer(der);
        return Remember(new KnownCertificate(der.ToArray(), certificate));
    }

    /// <summary>The entry for a certificate object already in hand (e.g. one a TLS handshake presented).</summary>
    public static KnownCertificate Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var der = certificate.RawDataMemory.Span;
        var hash = DerHash.Of(der);
        if (Cache.TryGetValue(hash, out var known) && der.SequenceEqual(known._der))
        {
            return known;
        }

        return Remember(new KnownCertificate(der.ToArray(), certificate));
    }

    /// <summary>Checks an ECDSA P-256 / SHA-256 signature with the certificate's key, imported once; false when it has none.</summary>
    internal bool VerifyWithPublicKey(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        lock (_keyLock)
        {
            if (!_publicKeyRead)
            {
                _publicKeyRead = true;
                _publicKey = ImportP256(_subjectPublicKeyInfo);
            }

            return _publicKey is not null && _publicKey.VerifyData(data, signature, Profile.Hash);
        }
    }

    /// <summary>The time-independent verdict against <paramref name="anchor"/>, reached once per anchor, kind and name.</summary>
    internal CertificateVerdict StandingAgainst(KnownCertificate anchor, X509Certificate2 anchorCertificate, CertificateKind kind, string? expectedName,
        Func<CertificateVerdict> decide)
    {
        var key = new VerdictKey(anchor.Hash, kind, expectedName?.ToLowerInvariant());
        if (_verdicts.TryGetValue(key, out var verdict))
        {
            return verdict;
        }

        // Not issued by this anchor's name: no chain to it can exist, so no chain is built (and nothing is parsed again).
        verdict = !_der.AsSpan().SequenceEqual(anchor._der) && !IssuerName.AsSpan().SequenceEqual(anchorCertificate.SubjectName.RawData)
            ? CertificateVerdict.NotIssuedHere
            : decide();
        _verdicts[key] = verdict;
        return verdict;
    }

    internal bool SameDer(ReadOnlySpan<byte> der) => der.SequenceEqual(_der);

    private static KnownCertificate Remember(KnownCertificate known)
    {
        if (Cache.Count >= MaxEntries)
        {
            Cache.Clear(); // bounded: a flood of distinct certificates costs only re-parsing, never memory
        }

        var stored = Cache.GetOrAdd(known.Hash, known);
        return stored.SameDer(known._der) ? stored : known; // a hash collision is never served from the cache
    }

    private static ECDsa? ImportP256(byte[]? subjectPublicKeyInfo)
    {
        if (subjectPublicKeyInfo is null)
        {
            return null;
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out var read);
            if (read == subjectPublicKeyInfo.Length && Profile.IsP256(key))
            {
                return key;
            }
        }
        catch (CryptographicException)
        {
            // not an EC key: no key
        }

        key.Dispose();
        return null;
    }

    private static T? SafeRead<T>(Func<T?> read)
    {
        try
        {
            return read();
        }
        catch (CryptographicException)
        {
            return default;
        }
        catch (InvalidOperationException)
        {
            return default; // e.g. a repeated extension
        }
    }

    internal readonly record struct DerHash(long A, long B, long C, long D)
    {
        public static DerHash Of(ReadOnlySpan<byte> der)
        {
            Span<byte> h = stackalloc byte[32];
            SHA256.HashData(der, h);
            var longs = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(h);
            return new DerHash(longs[0], longs[1], longs[2], longs[3]);
        }
    }

    private readonly record struct VerdictKey(DerHash Anchor, CertificateKind Kind, string? Name);
}
