using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>An auth server's (or console's) signing authority: an ECDSA P-256 key and its self-signed CA
/// certificate (CN=name, O=ActorVpn, OU=authority; CA with path length 0). Issues and verifies leaf certificates.
/// Thread-safe: <see cref="Verify"/> uses only the public certificate and keeps no state between calls.</summary>
public sealed class SigningAuthority : EcdsaKeyOwner
{
    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(3653);
    private static readonly PbeParameters KeyEncryption = new(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000);

    private readonly KnownCertificate _anchor;

    private SigningAuthority(string name, ECDsa key, X509Certificate2 certificate)
        : base(key)
    {
        Name = name;
        Certificate = certificate;
        _anchor = KnownCertificate.Of(certificate);
    }

    public string Name { get; }

    /// <summary>The public CA certificate (no private key): the trust anchor to hand to others.</summary>
    public X509Certificate2 Certificate { get; }


    public static SigningAuthority Create(string name, DateTimeOffset now, TimeSpan? lifetime = null)
    {
        Profile.ValidateName(name, nameof(name));
        var validFor = lifetime ?? DefaultLifetime;
        if (validFor <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, "The lifetime must be positive.");
        }

        var key = Profile.NewP256Key();
        try
        {
            var request = new CertificateRequest(Profile.DistinguishedName(name, Profile.AuthorityUnit), key, Profile.Hash);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(
                X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

            var generator = X509SignatureGenerator.CreateForECDsa(key);
            using var signed = request.Create(request.SubjectName, generator, now, now + validFor, Profile.RandomSerial());
            var publicOnly = X509CertificateLoader.LoadCertificate(signed.RawDataMemory.Span);
            return new SigningAuthority(name, key, publicOnly);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Rebuilds an authority from its PKCS#8 key and CA certificate; the key must be the certificate's key.</summary>
    public static SigningAuthority Import(string name, ReadOnlySpan<byte> pkcs8PrivateKey, ReadOnlySpan<byte> certificateDer)
    {
        Profile.ValidateName(name, nameof(name));
        var key = Profile.ImportP256Pkcs8(pkcs8PrivateKey);
        return FromParts(name, key, certificateDer);
    }

    public static SigningAuthority ImportEncrypted(
        string name,
        ReadOnlySpan<char> password,
        ReadOnlySpan<byte> encryptedPkcs8,
        ReadOnlySpan<byte> certificateDer)
    {
        Profile.ValidateName(name, nameof(name));
        var key = ECDsa.Create();
        try
        {
            key.ImportEncryptedPkcs8PrivateKey(password, encryptedPkcs8, out var read);
            if (read != encryptedPkcs8.Length)
            {
                throw new CredentialException("The encrypted private key has trailing data after the PKCS#8 structure.");
            }

            Profile.RequireP256(key);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new CredentialException("The encrypted private key could not be decrypted: wrong password or damaged data.", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }

        return FromParts(name, key, certificateDer);
    }

    /// <summary>PKCS#8 EncryptedPrivateKeyInfo: PBES2, AES-256-CBC, PBKDF2-HMAC-SHA256, 100,000 iterations.</summary>
    public byte[] ExportEncryptedPkcs8PrivateKey(ReadOnlySpan<char> password)
    {
        ThrowIfDisposed();
        return Key.ExportEncryptedPkcs8PrivateKey(password, KeyEncryption);
    }

    /// <summary>Issues a leaf certificate: CN=subjectName, O=ActorVpn, OU=user|proxy|inter-server|operator; random
    /// 16-byte positive serial; not a CA; KeyUsage DigitalSignature; EKU clientAuth (Proxy: serverAuth + clientAuth and
    /// SAN DNS=subjectName); SubjectKeyIdentifier; AuthorityKeyIdentifier of this CA; notAfter clamped to the CA's notAfter.</summary>
    /// <exception cref="ArgumentException">Bad name (a proxy's must be a DNS name) or notBefore is not before notAfter.</exception>
    /// <exception cref="CredentialException">The public key is not ECDSA P-256, or the CA expires before notBefore.</exception>
    public X509Certificate2 Issue(
        CertificateKind kind,
        string subjectName,
        ReadOnlySpan<byte> subjectPublicKeyInfo,
        DateTimeOffset notBefore,
        DateTimeOffset notAfter)
    {
        ThrowIfDisposed();
        if (kind == CertificateKind.Proxy)
        {
            Profile.ValidateDnsName(subjectName, nameof(subjectName));
        }
        else
        {
            Profile.ValidateName(subjectName, nameof(subjectName));
        }

        if (notBefore >= notAfter)
        {
            throw new ArgumentException("notBefore must be earlier than notAfter.", nameof(notBefore));
        }

        var caNotAfter = new DateTimeOffset(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (notAfter > caNotAfter)
        {
            notAfter = caNotAfter;
        }

        if (notBefore >= notAfter)
        {
            throw new CredentialException($"The authority '{Name}' expires at {caNotAfter:O}, before the requested notBefore.");
        }

        var publicKey = ReadP256PublicKey(subjectPublicKeyInfo);
        var request = new CertificateRequest(Profile.DistinguishedName(subjectName, Profile.UnitOf(kind)), publicKey, Profile.Hash);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usages = new OidCollection();
        foreach (var usage in Profile.UsagesOf(kind))
        {
            usages.Add(new Oid(usage));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        if (kind == CertificateKind.Proxy)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(subjectName);
            request.CertificateExtensions.Add(san.Build(false));
        }

        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(publicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));

        var generator = X509SignatureGenerator.CreateForECDsa(Key);
        return request.Create(Certificate.SubjectName, generator, notBefore, notAfter, Profile.RandomSerial());
    }

    /// <summary>Was <paramref name="certificate"/> issued by this authority, of <paramref name="expectedKind"/>, and
    /// valid at <paramref name="now"/>? Precedence: Malformed / NotIssuedHere, then WrongKind, then Expired / NotYetValid.
    /// Never throws for a bad certificate; no network, no revocation check (revocation is the caller's business).</summary>
    public CertificateVerdict Verify(X509Certificate2 certificate, CertificateKind expectedKind, DateTimeOffset now)
    {
        ThrowIfDisposed();
        return CertificateCheck.Verify(certificate, Certificate, expectedKind, expectedName: null, now);
    }

    /// <summary>As <see cref="Verify(X509Certificate2, CertificateKind, DateTimeOffset)"/> for a certificate read with
    /// <see cref="KnownCertificate.Read"/>: the signature and profile checks run once per certificate (remembered), the
    /// validity period is checked against <paramref name="now"/> on every call. Revocation stays the caller's business.</summary>
    public CertificateVerdict Verify(KnownCertificate certificate, CertificateKind expectedKind, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ThrowIfDisposed();
        return CertificateCheck.Verify(certificate, _anchor, Certificate, expectedKind, expectedName: null, now);
    }

    private protected override void DisposeMore() => Certificate.Dispose();

    private static SigningAuthority FromParts(string name, ECDsa key, ReadOnlySpan<byte> certificateDer)
    {
        X509Certificate2? certificate = null;
        try
        {
            certificate = CertificateText.FromDer(certificateDer);
            var basic = certificate.Extensions.OfType<X509BasicConstraintsExtension>().SingleOrDefault();
            if (basic is null || !basic.CertificateAuthority)
            {
                throw new CredentialException("The certificate is not a CA certificate, so it cannot be an authority's.");
            }

            if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
            {
                throw new CredentialException("The private key does not belong to the authority certificate.");
            }

            if (CertificateFacts.TrySubjectName(certificate) != name)
            {
                throw new CredentialException($"The authority certificate is not named '{name}'.");
            }

            return new SigningAuthority(name, key, certificate);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            certificate?.Dispose();
            throw new CredentialException("The authority certificate could not be read.", e);
        }
        catch
        {
            key.Dispose();
            certificate?.Dispose();
            throw;
        }
    }

    private static PublicKey ReadP256PublicKey(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        try
        {
            var publicKey = PublicKey.CreateFromSubjectPublicKeyInfo(subjectPublicKeyInfo, out var read);
            if (read != subjectPublicKeyInfo.Length || publicKey.Oid.Value != Profile.EcPublicKeyOid)
            {
                throw new CredentialException("The subject public key is not a DER ECDSA SubjectPublicKeyInfo.");
            }

            using var ecdsa = publicKey.GetECDsaPublicKey()
                ?? throw new CredentialException("The subject public key is not an ECDSA key.");
            Profile.RequireP256(ecdsa);
            return publicKey;
        }
        catch (CryptographicException e)
        {
            throw new CredentialException("The subject public key is not a readable SubjectPublicKeyInfo.", e);
        }
    }
}
