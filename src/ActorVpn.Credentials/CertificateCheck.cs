using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>The one place where a presented certificate is judged against a trust anchor. Stateless, so thread-safe;
/// builds a fresh chain each call with only the anchor trusted, no downloads and no revocation check.</summary>
internal static class CertificateCheck
{
    private const X509ChainStatusFlags TimeFlags = X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested;

    public static CertificateVerdict Verify(
        X509Certificate2 presented,
        X509Certificate2 anchor,
        CertificateKind expectedKind,
        string? expectedName,
        DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(presented);
        ArgumentNullException.ThrowIfNull(anchor);
        try
        {
            return VerifyCore(presented, anchor, expectedKind, expectedName, now.UtcDateTime);
        }
        catch (CryptographicException)
        {
            return CertificateVerdict.Malformed;
        }
        catch (ObjectDisposedException)
        {
            return CertificateVerdict.Malformed;
        }
    }

    private static CertificateVerdict VerifyCore(
        X509Certificate2 presented,
        X509Certificate2 anchor,
        CertificateKind expectedKind,
        string? expectedName,
        DateTime nowUtc)
    {
        // Reading the encodings first turns a disposed or broken certificate object into Malformed.
        var presentedDer = presented.RawDataMemory.Span;
        var anchorDer = anchor.RawDataMemory.Span;

        // 1. Issued by the anchor? The chain verifies the signature; time problems are judged last.
        var issued = IsIssuedBy(presented, anchor, nowUtc);
        if (issued is not CertificateVerdict.Valid)
        {
            return issued;
        }

        if (presentedDer.SequenceEqual(anchorDer))
        {
            return CertificateVerdict.WrongKind; // the authority's own certificate is no leaf of any kind
        }

        // 2. Well-formed per our profile?
        var subjectName = CertificateFacts.TrySubjectName(presented);
        if (subjectName is null)
        {
            return CertificateVerdict.Malformed;
        }

        // 3. Of the expected kind (and, for a proxy the client dials, of the expected name)?
        if (CertificateFacts.ReadKind(presented) != expectedKind)
        {
            return CertificateVerdict.WrongKind;
        }

        if (expectedName is not null
            && (!string.Equals(subjectName, expectedName, StringComparison.OrdinalIgnoreCase)
                || !CertificateFacts.DnsNames(presented).Contains(expectedName, StringComparer.OrdinalIgnoreCase)))
        {
            return CertificateVerdict.WrongKind;
        }

        // 4. Valid now (the leaf and the anchor)?
        if (nowUtc < presented.NotBefore.ToUniversalTime() || nowUtc < anchor.NotBefore.ToUniversalTime())
        {
            return CertificateVerdict.NotYetValid;
        }

        if (nowUtc > presented.NotAfter.ToUniversalTime() || nowUtc > anchor.NotAfter.ToUniversalTime())
        {
            return CertificateVerdict.Expired;
        }

        return CertificateVerdict.Valid;
    }

    /// <summary>Valid when the chain presented → anchor verifies with only time errors (if any); NotIssuedHere otherwise.</summary>
    private static CertificateVerdict IsIssuedBy(X509Certificate2 presented, X509Certificate2 anchor, DateTime nowUtc)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.Add(anchor);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = nowUtc;
        policy.VerificationTimeIgnored = false;
        policy.UrlRetrievalTimeout = TimeSpan.Zero;

        try
        {
            chain.Build(presented);

            foreach (var status in chain.ChainStatus)
            {
                if ((status.Status & ~TimeFlags) != X509ChainStatusFlags.NoError)
                {
                    return CertificateVerdict.NotIssuedHere;
                }
            }

            var elements = chain.ChainElements;
            if (elements.Count is < 1 or > 2)
            {
                return CertificateVerdict.NotIssuedHere;
            }

            var root = elements[^1].Certificate;
            return root.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span)
                ? CertificateVerdict.Valid
                : CertificateVerdict.NotIssuedHere;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, presented) && !ReferenceEquals(element.Certificate, anchor))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }
}
