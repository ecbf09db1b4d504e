using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>The one place where a presented certificate is judged against a trust anchor. Thread-safe. The
/// time-independent part of a verdict (signature by the anchor via a chain with only the anchor trusted, no downloads,
/// no revocation check; well-formed; kind; name) is reached once per certificate and anchor and remembered in
/// <see cref="KnownCertificate"/>; the validity periods are checked against <c>now</c> on every call.</summary>
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
        KnownCertificate known;
        KnownCertificate knownAnchor;
        try
        {
            known = KnownCertificate.Of(presented);
            knownAnchor = KnownCertificate.Of(anchor);
        }
        catch (CryptographicException)
        {
            return CertificateVerdict.Malformed;
        }
        catch (ObjectDisposedException)
        {
            return CertificateVerdict.Malformed;
        }

        return Verify(known, knownAnchor, anchor, expectedKind, expectedName, now);
    }

    public static CertificateVerdict Verify(
        KnownCertificate presented,
        KnownCertificate knownAnchor,
        X509Certificate2 anchor,
        CertificateKind expectedKind,
        string? expectedName,
        DateTimeOffset now)
    {
        var nowUtc = now.UtcDateTime;
        var standing = presented.StandingAgainst(knownAnchor, anchor, expectedKind, expectedName,
            () => Decide(presented, anchor, expectedKind, expectedName, nowUtc));
        if (standing is not CertificateVerdict.Valid)
        {
            return standing;
        }

        // 4. Valid now (the leaf and the anchor)? Never remembered: checked on every call.
        var leaf = presented.ValidityAt(now);
        var issuer = knownAnchor.ValidityAt(now);
        return leaf == CertificateVerdict.NotYetValid || issuer == CertificateVerdict.NotYetValid ? CertificateVerdict.NotYetValid
            : leaf == CertificateVerdict.Expired || issuer == CertificateVerdict.Expired ? CertificateVerdict.Expired
            : CertificateVerdict.Valid;
    }

    /// <summary>Steps 1-3, everything but time: the part of a verdict that the DER bytes alone decide.</summary>
    private static CertificateVerdict Decide(KnownCertificate known, X509Certificate2 anchor, CertificateKind expectedKind, string? expectedName, DateTime nowUtc)
    {
        try
        {
            using var presented = X509CertificateLoader.LoadCertificate(known.Der.Span);
            return DecideCore(presented, anchor, expectedKind, expectedName, nowUtc);
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

    private static CertificateVerdict DecideCore(
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
