using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Protocol;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.AuthServers.HandOff.Core;

/// <summary>Which branch of Fig. 8 step 801 a client's certificate 1 takes at this server, or why it is refused (Fig. 7, step 704).</summary>
public abstract record ClientArrival
{
    /// <summary>Fig. 8, yes-branch of 801: this server issued certificate 1, it is the user's home server.</summary>
    public sealed record Home(string User) : ClientArrival;

    /// <summary>Fig. 8, no-branch of 801: a certificate handed off to this server earlier (【0045】).</summary>
    public sealed record Held(string User) : ClientArrival;

    public sealed record Refused(Refusal Refusal) : ClientArrival;
}

/// <summary>
/// Fig. 7 as an auth server runs it for a client: the request arrives at its proxy (step 701), certificate 1 is
/// checked (step 702), and either the hand-off goes on (Fig. 8) or the client is refused (step 704).
/// </summary>
public static class Fig7Arrival
{
    /// <summary>
    /// Fig. 7 step 702 / Fig. 8 step 801: the branch of a certificate 1 that parsed, given this server's verdict on it
    /// (during a key rotation both keys verify) and, when it did not issue it, the retired key that did, if any.
    /// </summary>
    public static ClientArrival Classify(string me, AuthenticateClient request, KnownCertificate certificate, CertificateVerdict verdict,
        Func<RetiredAnchor?> retiredKey) => verdict switch
        {
            // A session starts at the home server, and a hand-off id belongs only to the later proxies of a route. Answering it
            // would give the entry proxy no sign that this is the session's entry, so the session would run without its records.
            CertificateVerdict.Valid when request.HandOffId is not null => Refuse(ErrorCodes.NoRoute, PatentStep.Fig8IssuedHere801,
                $"'{certificate.SubjectName}' presented hand-off id {request.HandOffId} at {request.Proxy}, but {me} is its home server, where a session starts without one",
                certificate.SubjectName),
            CertificateVerdict.Valid => new ClientArrival.Home(certificate.SubjectName!),
            CertificateVerdict.Expired or CertificateVerdict.NotYetValid => Refuse(ErrorCodes.CertificateExpired, PatentStep.Fig7Check702,
                $"certificate of '{certificate.SubjectName}' is not valid now (valid {certificate.NotBeforeUtc:u} to {certificate.NotAfterUtc:u})"),
            CertificateVerdict.NotIssuedHere when retiredKey() is { } retired => Refuse(ErrorCodes.CertificateRevoked, PatentStep.Fig7Check702,
                $"the certificate of '{certificate.SubjectName}' is signed by a key {me} retired at {retired.RetiredAt:u} (its signing-key rotation finished or was rolled back): enrol the user again for a certificate of the current key"),
            CertificateVerdict.NotIssuedHere when certificate.SubjectName is not null => new ClientArrival.Held(certificate.SubjectName),
            _ => Refuse(ErrorCodes.UnknownUser, PatentStep.Fig7Check702, $"certificate refused: {verdict}"),
        };

    /// <summary>Fig. 7 step 702: what the client presented is no certificate at all.</summary>
    public static Refusal NotACertificate(string problem) => new(ErrorCodes.UnknownUser, PatentStep.Fig7Check702, $"not a certificate: {problem}");

    private static ClientArrival.Refused Refuse(string code, PatentStep step, string message, string? verifiedUser = null) =>
        new(new Refusal(code, step, message, VerifiedUser: verifiedUser));
}
