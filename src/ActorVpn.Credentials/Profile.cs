using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>The fixed choices of ActorVpn's certificate profile, shared by issuing and checking.</summary>
internal static class Profile
{
    public const string Organization = "ActorVpn";
    public const string AuthorityUnit = "authority";
    public const int MaxNameLength = 64; // ub-common-name (RFC 5280)

    public const string CommonNameOid = "2.5.4.3";
    public const string OrganizationOid = "2.5.4.10";
    public const string OrganizationalUnitOid = "2.5.4.11";
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    public const string EcPublicKeyOid = "1.2.840.10045.2.1";
    public const string P256CurveOid = "1.2.840.10045.3.1.7";

    public static readonly HashAlgorithmName Hash = HashAlgorithmName.SHA256;

    public static string UnitOf(CertificateKind kind) => kind switch
    {
        CertificateKind.User => "user",
        CertificateKind.Proxy => "proxy",
        CertificateKind.InterServer => "inter-server",
        CertificateKind.Operator => "operator",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown certificate kind."),
    };

    public static CertificateKind? KindOfUnit(string unit) => unit switch
    {
        "user" => CertificateKind.User,
        "proxy" => CertificateKind.Proxy,
        "inter-server" => CertificateKind.InterServer,
        "operator" => CertificateKind.Operator,
        _ => null,
    };

    /// <summary>The exact extended key usages a certificate of this kind carries.</summary>
    public static string[] UsagesOf(CertificateKind kind) => kind == CertificateKind.Proxy
        ? [ServerAuthOid, ClientAuthOid]
        : [ClientAuthOid];

    public static X500DistinguishedName DistinguishedName(string commonName, string unit)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        builder.AddOrganizationName(Organization);
        builder.AddOrganizationalUnitName(unit);
        return builder.Build();
    }

    public static ECDsa NewP256Key() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public static bool IsP256(ECDsa key)
    {
        var curve = key.ExportParameters(includePrivateParameters: false).Curve;
        return curve.IsNamed && curve.Oid.Value == P256CurveOid;
    }

    /// <summary>Imports a PKCS#8 ECDSA P-256 private key, rejecting anything else (including trailing bytes).</summary>
    public static ECDsa ImportP256Pkcs8(ReadOnlySpan<byte> pkcs8)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportPkcs8PrivateKey(pkcs8, out var read);
            if (read != pkcs8.Length)
            {
                throw new CredentialException("The private key has trailing data after the PKCS#8 structure.");
            }

            RequireP256(key);
            return key;
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new CredentialException("The private key is not a readable PKCS#8 ECDSA key.", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public static void RequireP256(ECDsa key)
    {
        if (!IsP256(key))
        {
            throw new CredentialException("The key is not an ECDSA P-256 key.");
        }
    }

    public static void ValidateName(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (name.Length == 0 || name.Length > MaxNameLength)
        {
            throw new ArgumentException($"A name must have 1 to {MaxNameLength} characters.", paramName);
        }

        if (name.Trim().Length != name.Length)
        {
            throw new ArgumentException("A name must not start or end with white space.", paramName);
        }

        foreach (var c in name)
        {
            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                throw new ArgumentException("A name must not contain control characters.", paramName);
            }
        }
    }

    /// <summary>A proxy's name goes into a DNS subjectAltName: ASCII letters, digits, '-', '_', dot-separated labels.</summary>
    public static void ValidateDnsName(string name, string paramName)
    {
        ValidateName(name, paramName);
        foreach (var label in name.Split('.'))
        {
            if (label.Length == 0 || label.Length > 63 || label[0] == '-' || label[^1] == '-')
            {
                throw new ArgumentException($"A proxy name must be a DNS name; '{name}' is not.", paramName);
            }

            foreach (var c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
                {
                    throw new ArgumentException($"A proxy name must be a DNS name; '{name}' is not.", paramName);
                }
            }
        }
    }

    public static byte[] RandomSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        // Positive (top bit clear) and a non-zero leading byte, so the DER INTEGER is exactly 16 bytes.
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }
}
