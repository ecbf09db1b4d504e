using System.Security.Cryptography;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Protocol;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.AuthServers.HandOff.Core;

/// <summary>What the held branch of Fig. 8 step 801 decides for a client's hop.</summary>
public abstract record HeldDecision
{
    /// <summary>Fig. 8 step 811 (held certificate): the client authenticates; certificate 1 is used once and discarded (【0045】).</summary>
    /// <param name="Next">The one proxy this hop may connect onwards to; null at the exit proxy.</param>
    public sealed record Use(HeldCertificate Held, RouteEntry? Next, StepReached Step) : HeldDecision;

    /// <param name="DropHeld">The certificate held for this hand-off is dropped too (it expired).</param>
    public sealed record Refused(Refusal Refusal, bool DropHeld = false) : HeldDecision;
}

/// <summary>
/// Fig. 8: the home server of certificate 1 (yes-branch of step 801) looks the destination up (802), escalates when
/// Fig. 2 has no entry (803), and answers the entry proxy (810/811); a server that only holds a handed-off certificate
/// (no-branch of 801) lets the client's hop through once (811) without any look-up.
/// </summary>
public static class Fig8HomeServer
{
    /// <summary>Fig. 8 step 801 (yes) then Fig. 7 step 702: is the user registered here and is this certificate still theirs?</summary>
    public static Refusal? Standing(AuthServerState state, KnownCertificate certificate)
    {
        var user = certificate.SubjectName!;
        return state.StandingOf(certificate) switch
        {
            UserCertificateStanding.UnknownUser => new Refusal(ErrorCodes.UnknownUser, PatentStep.Fig7Check702, $"user '{user}' is not registered at {state.Name}", VerifiedUser: user),
            UserCertificateStanding.Revoked => new Refusal(ErrorCodes.CertificateRevoked, PatentStep.Fig7Check702, $"the certificate of '{user}' was revoked at {state.Name}", VerifiedUser: user),
            _ => null,
        };
    }

    /// <summary>An operator's route trace: it runs for a registered user that is not revoked.</summary>
    public static Refusal? TraceStanding(AuthServerState state, string user) =>
        !state.Users.TryGetValue(user, out var registered)
            ? new Refusal(ErrorCodes.UnknownUser, PatentStep.Fig7Check702, $"user '{user}' is not registered at {state.Name}")
            : registered.RevokedAt is not null
                ? new Refusal(ErrorCodes.CertificateRevoked, PatentStep.Fig7Check702, $"'{user}' was revoked at {state.Name}")
                : null;

    /// <summary>Fig. 8 step 802 at the entry: the destination is known and the proxy that asked relays it here (Fig. 3).</summary>
    public static Refusal? Entry(RelayTables tables, string user, string destination, string proxy)
    {
        if (!tables.KnowsDestination(destination))
        {
            return new Refusal(ErrorCodes.UnknownDestination, PatentStep.Fig8LookUp802, $"no destination '{destination}' is known", VerifiedUser: user);
        }

        var entryProxy = tables.RelayProxyFor(destination);
        return entryProxy is null || entryProxy.Name != proxy
            ? new Refusal(ErrorCodes.NoRoute, PatentStep.Fig8LookUp802,
                entryProxy is null
                    ? $"{tables.Name} manages no relay proxy for '{destination}' (Fig. 3)"
                    : $"'{destination}' is relayed by {entryProxy.Name}, not by {proxy} (Fig. 3)",
                VerifiedUser: user)
            : null;
    }

    /// <summary>Fig. 8 steps 802-803: the next auth server, or the end of a one-proxy chain (step 811 at once).</summary>
    public static Onward Route(RelayTables tables, string user, string destination)
    {
        var lookUp = new StepReached(PatentStep.Fig8LookUp802, $"user '{user}' to '{destination}'");
        return RouteLookUp.Next(tables, destination, PatentStep.Fig8Escalate803) switch
        {
            Onward.End => new Onward.End([lookUp, new StepReached(PatentStep.Fig8Authenticated811, "route [] (End)")]),
            Onward.Call call => call with { Steps = [lookUp, .. call.Steps] },
            Onward.Refused refused => refused with { Refusal = refused.Refusal with { Path = [tables.Name] }, Steps = [lookUp] },
            var other => other,
        };
    }

    /// <summary>
    /// Fig. 8, no-branch of 801: a certificate handed off earlier, good for one hop through the relay proxy it was held for,
    /// for the destination it was handed off for, until the hold expires or the user is revoked (Fig. 7, step 702).
    /// </summary>
    public static HeldDecision Held(string me, HandOffLedger ledger, AuthenticateClient request, KnownCertificate certificate,
        DateTimeOffset now, TimeSpan holdTimeout)
    {
        var user = certificate.SubjectName!;
        if (request.HandOffId is not null && ledger.Revoked.TryGetValue(request.HandOffId, out var revoked)
            && (revoked.CertificateDer is null || CryptographicOperations.FixedTimeEquals(revoked.CertificateDer, request.UserCertificateDer)))
        {
            return new HeldDecision.Refused(new Refusal(ErrorCodes.CertificateRevoked, PatentStep.Fig7Check702,
                $"'{revoked.User}' was revoked at {revoked.Home} while hand-off {request.HandOffId} was still authenticating: {me} dropped its certificate"));
        }

        if (ledger.HeldFor(request.HandOffId, now) is not { } held)
        {
            return new HeldDecision.Refused(new Refusal(ErrorCodes.UnknownUser, PatentStep.Fig7Check702,
                $"'{user}' is not registered at {me}, and no hand-off of this certificate is held here (used, expired after {holdTimeout.TotalSeconds:0} s, or never made)"));
        }

        if (!CryptographicOperations.FixedTimeEquals(held.CertificateDer, request.UserCertificateDer))
        {
            return new HeldDecision.Refused(new Refusal(ErrorCodes.UnknownUser, PatentStep.Fig7Check702, $"hand-off {held.HandOffId} at {me} was made for another certificate", held.Path));
        }

        if (held.Destination != request.Destination || held.RelayProxy != request.Proxy)
        {
            return new HeldDecision.Refused(new Refusal(ErrorCodes.NoRoute, PatentStep.Fig7Check702,
                $"certificate 1 was handed off to {me} for '{held.Destination}' via {held.RelayProxy}, not for '{request.Destination}' via {request.Proxy}", held.Path));
        }

        if (!certificate.IsCurrent(now))
        {
            return new HeldDecision.Refused(new Refusal(ErrorCodes.CertificateExpired, PatentStep.Fig7Check702,
                $"certificate of '{user}' expired at {certificate.NotAfterUtc:u}", held.Path), DropHeld: true);
        }

        return new HeldDecision.Use(held, held.Route.Count > 1 ? held.Route[1] : null,
            new StepReached(PatentStep.Fig8HeldUsed811, $"'{user}' authenticated at {request.Proxy} with the held certificate"));
    }
}
