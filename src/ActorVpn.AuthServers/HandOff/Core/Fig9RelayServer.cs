using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Protocol;
using static ActorVpn.Protocol.HandOffProtocol;

namespace ActorVpn.AuthServers.HandOff.Core;

/// <summary>What a relay server decides for certificate 1 received from a caller (Fig. 9 steps 901-904).</summary>
public abstract record RelayDecision
{
    /// <summary>The hand-off goes on (step 902 reached): to the end, or to the next server.</summary>
    public sealed record Go(Onward Onward, StepReached LookUp) : RelayDecision;

    public sealed record Refused(Refusal Refusal) : RelayDecision;

    /// <summary>Its release overtook it: the user was revoked at its home server, so nothing is held for it here.</summary>
    public sealed record Revoked(Refusal Refusal) : RelayDecision;
}

/// <summary>
/// Fig. 9: a relay server is called by another auth server (step 905 seen from the callee), checks the caller's
/// inter-server credential (Fig. 7 step 702 / Fig. 9 step 906), receives certificate 1 (901), looks up the next server
/// (902) or escalates (903/904), and on the way back adds its relay proxy (910, see <see cref="Step910Aggregation"/>).
/// </summary>
public static class Fig9RelayServer
{
    /// <summary>
    /// Fig. 7 step 702 / Fig. 9 step 906: the caller must present a credential this server issued to it, still valid and
    /// signed by a key this server trusts now; null when it does, else the refusal (<c>untrusted-peer</c>).
    /// </summary>
    /// <param name="verify">This server's verdict on a credential (during a key rotation both keys verify).</param>
    /// <param name="retiredKey">The retired key of this server that signed a credential, if one did.</param>
    public static Refusal? CheckCredential(AuthServerState state, OpenHandOff open, Func<KnownCertificate, CertificateVerdict> verify,
        Func<KnownCertificate, RetiredAnchor?> retiredKey) =>
        CredentialProblem(state, open, verify, retiredKey) is { } problem
            ? new Refusal(ErrorCodes.UntrustedPeer, PatentStep.Fig7Check702, problem, [open.Caller, state.Name])
            : null;

    private static string? CredentialProblem(AuthServerState state, OpenHandOff open, Func<KnownCertificate, CertificateVerdict> verify,
        Func<KnownCertificate, RetiredAnchor?> retiredKey)
    {
        var me = state.Name;
        if (open.CredentialDer is null)
        {
            return $"{open.Caller} holds no credential issued by {me} ({me} does not list it in 'trusts')";
        }

        // The latest credential issued to the caller, or an earlier one for the same key that is still valid (checked
        // below): a renewal replaces the credential here before the caller holds the new one, and hand-offs in flight
        // meanwhile present the old one (the overlap). One for another key (the caller's key changed) is refused.
        // A caller rotating its own key also holds one for its new key (issued alongside, accepted until its rotation ends).
        if (!PeerCredentials.IsIssuedTo(state.CredentialsIssued, open.Caller, open.CredentialDer)
            && !PeerCredentials.IsIssuedTo(state.CredentialsIssuedNext, open.Caller, open.CredentialDer))
        {
            return $"the credential {open.Caller} presented is not the one {me} issued to it";
        }

        try
        {
            var certificate = KnownCertificate.Read(open.CredentialDer);
            var verdict = verify(certificate);
            if (verdict == CertificateVerdict.NotIssuedHere && retiredKey(certificate) is { } retired)
            {
                return $"the credential of {open.Caller} is signed by a key {me} retired at {retired.RetiredAt:u} (its signing-key rotation finished or was rolled back)";
            }

            return verdict != CertificateVerdict.Valid || certificate.SubjectName != open.Caller
                ? $"the credential of {open.Caller} is not valid here: {verdict}"
                : null;
        }
        catch (CredentialException e)
        {
            return $"the credential of {open.Caller} is not a certificate: {e.Message}";
        }
    }

    /// <summary>
    /// Fig. 7 step 702 / Fig. 9 step 906, the caller's answer: it must answer the one challenge open for it and this hand-off
    /// (taken whatever the outcome, so a proof copied from a log, or replayed, finds none) with a fresh signature over that
    /// nonce by the key its credential certifies. Null when it does, else the refusal (<c>untrusted-peer</c>).
    /// </summary>
    public static Refusal? CheckProof(HandOffLedger ledger, HandOffCertificate request, string me, DateTimeOffset now)
    {
        var path = request.Path.Append(me).ToList();
        if (ledger.TakeChallenge(request.Nonce, request.Caller, request.HandOffId.Value, now) is not { } challenge)
        {
            return new Refusal(ErrorCodes.UntrustedPeer, PatentStep.Fig7Check702, $"{request.Caller} answered no open challenge of {me} (replayed or expired proof)", path);
        }

        // Only the key's import is remembered: the signature is checked every time.
        return PeerProof.VerifyKnown(KnownCertificate.Read(challenge.CredentialDer), request.Nonce, ProofBinding(me, request), request.Proof)
            ? null
            : new Refusal(ErrorCodes.UntrustedPeer, PatentStep.Fig7Check702, $"{request.Caller} could not prove possession of the key its credential certifies", path);
    }

    /// <summary>
    /// Fig. 9 steps 901-904 once the caller proved possession of its key: certificate 1 of a hand-off not ended by a
    /// revocation, visiting this server once, for a known destination, valid now; then the Fig. 2 look-up.
    /// </summary>
    public static RelayDecision Receive(RelayTables tables, HandOffLedger ledger, HandOffCertificate request, DateTimeOffset now)
    {
        var me = tables.Name;
        var path = request.Path.Append(me).ToList();
        if (ledger.Revoked.TryGetValue(request.HandOffId.Value, out var revoked))
        {
            return new RelayDecision.Revoked(new Refusal(ErrorCodes.CertificateRevoked, PatentStep.Fig9Receive901,
                $"'{revoked.User}' was revoked at {revoked.Home}: hand-off {request.HandOffId} ended", path));
        }

        if (request.Path.Contains(me))
        {
            return new RelayDecision.Refused(new Refusal(ErrorCodes.RouteLoop, PatentStep.Fig9Receive901,
                $"the certificate already visited {me}: {string.Join(" -> ", path)}", path));
        }

        if (!tables.KnowsDestination(request.Destination))
        {
            return new RelayDecision.Refused(new Refusal(ErrorCodes.UnknownDestination, PatentStep.Fig9LookUp902, $"no destination '{request.Destination}' is known", path));
        }

        if (ExpiredProblem(request.UserCertificateDer, now) is { } expired)
        {
            return new RelayDecision.Refused(new Refusal(ErrorCodes.CertificateExpired, PatentStep.Fig9Receive901, expired, path));
        }

        var onward = RouteLookUp.Next(tables, request.Destination, PatentStep.Fig9Escalate903);
        return new RelayDecision.Go(onward is Onward.Refused refused ? refused with { Refusal = refused.Refusal with { Path = path } } : onward,
            new StepReached(PatentStep.Fig9LookUp902, $"'{request.Destination}'"));
    }

    /// <summary>Certificate 1 must be valid now (through its NotAfter): null when it is, else why not.</summary>
    public static string? ExpiredProblem(byte[] certificateDer, DateTimeOffset now)
    {
        try
        {
            var certificate = KnownCertificate.Read(certificateDer);
            return certificate.IsCurrent(now)
                ? null
                : $"certificate of '{certificate.SubjectName}' is not valid now (valid {certificate.NotBeforeUtc:u} to {certificate.NotAfterUtc:u})";
        }
        catch (CredentialException e)
        {
            return $"certificate 1 is not a certificate: {e.Message}";
        }
    }
}
