using ActorVpn.Client;
using ActorVpn.Credentials;

namespace ActorVpn.Hosting;

/// <summary>What a user's client needs, written by whichever host registered the user (<c>avpn up</c> or a cluster node).</summary>
public static class ClientProfiles
{
    /// <summary>
    /// A client profile for <paramref name="enrollment"/>: certificate 1, its key, the home server's trust
    /// anchor (and the next one while the server rotates its signing key) and <paramref name="entries"/>.
    /// </summary>
    public static ClientProfile Of(UserEnrollment enrollment, IReadOnlyDictionary<string, EntryProxy> entries)
    {
        using var certificate = CertificateText.FromDer(enrollment.CertificateDer);
        using var anchor = CertificateText.FromDer(enrollment.TrustAnchorDer);
        return new ClientProfile(enrollment.User, enrollment.HomeServer, CertificateText.ToPem(certificate),
            CertificateText.PrivateKeyToPem(enrollment.PrivateKeyPkcs8), CertificateText.ToPem(anchor),
            new Dictionary<string, EntryProxy>(entries, StringComparer.Ordinal), ClientProfile.NextAnchorPem(enrollment.NextTrustAnchorDer));
    }

}
