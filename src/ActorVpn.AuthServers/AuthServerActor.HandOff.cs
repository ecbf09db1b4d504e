using System.Security.Cryptography;
using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.Credentials;
using ActorVpn.Protocol;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.Protocol.ClientAuthProtocol;
using static ActorVpn.Protocol.HandOffProtocol;
using Pending = ActorVpn.AuthServers.HandOff.Core.PendingHandOff<Akka.Actor.IActorRef>;

namespace ActorVpn.AuthServers;

/// <summary>The requests that start or continue a hand-off here: a client via a proxy (Figs. 7-8) and a calling auth server (Fig. 9).</summary>
public sealed partial class AuthServerActor
{
    // ---------------------------------------------------------------- Fig. 7 / Fig. 8: a client via a proxy

    private void HandleClient(AuthenticateClient request)
    {
        var replyTo = Sender;
        var trace = request.HandOffId ?? "new";
        _telemetry.ClientArrived(request.TraceParent, atEntry: request.HandOffId is null);
        _trail.ClientArrived(traced: false);
        if (_abandoned.IsAbandoned(request.SessionId))
        {
            return; // its proxy gave up before this server got to it (a backlog): no one would use the answer
        }

        if (!Step(PatentStep.Fig7Receive701, trace, $"client at {request.Proxy} for '{request.Destination}'", arriving: request)
            || !Step(PatentStep.Fig8IssuedHere801, trace, "is certificate 1 issued here?"))
        {
            return;
        }

        KnownCertificate certificate; // parsed and signature-checked once per certificate; time and revocation every time
        try
        {
            certificate = KnownCertificate.Read(request.UserCertificateDer);
        }
        catch (CredentialException e)
        {
            RefuseClient(replyTo, Fig7Arrival.NotACertificate(e.Message));
            return;
        }

        // During a key rotation both keys verify (Fig. 7, step 702); a key retired by a finished rotation does not.
        var verdict = _keys.Verify(certificate, CertificateKind.User, Now);
        switch (Fig7Arrival.Classify(Me, request, certificate, verdict, () => _keys.RetiredKeyOf(certificate, CertificateKind.User, Now)))
        {
            case ClientArrival.Home when Fig8HomeServer.Standing(_state, certificate) is { } refusal:
                RefuseClient(replyTo, refusal);
                return;
            case ClientArrival.Home home:
                StartHomeHandOff(request, home.User, replyTo);
                return;
            case ClientArrival.Held:
                UseHeldCertificate(request, certificate, replyTo);
                return;
            case ClientArrival.Refused refused:
                RefuseClient(replyTo, refused.Refusal);
                return;
        }
    }

    /// <summary>
    /// An operator's route trace: the hand-off a client of <paramref name="trace"/>'s user would start at its entry proxy, with a
    /// certificate issued for this trace alone. It is never persisted nor made one of the user's active certificates, and its key
    /// is discarded, so nothing could ever present it: the trace changes no state (an inspection), while the servers further on
    /// check it exactly as a client's certificate 1.
    /// </summary>
    private void HandleTrace(TraceRoute trace)
    {
        var replyTo = Sender;
        _telemetry.ClientArrived(null, atEntry: true);
        _trail.ClientArrived(traced: true);
        if (!Step(PatentStep.Fig7Receive701, "trace", $"route trace of '{trace.User}' to '{trace.Destination}' (an operator's inspection)", arriving: trace)
            || !Step(PatentStep.Fig8IssuedHere801, "trace", "is the user registered here?"))
        {
            return;
        }

        if (Fig8HomeServer.TraceStanding(_state, trace.User) is { } refusal)
        {
            RefuseClient(replyTo, refusal);
            return;
        }

        byte[] throwAway;
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var now = Now;
            using var issued = Signer.Issue(CertificateKind.User, trace.User, key.ExportSubjectPublicKeyInfo(), now.AddMinutes(-1), now + _settings.HandOffTimeout + _settings.HoldTimeout);
            throwAway = issued.RawData;
        }

        var entry = _tables.RelayProxyFor(trace.Destination)?.Name ?? "-";
        StartHomeHandOff(new AuthenticateClient(entry, throwAway, trace.Destination, null), trace.User, replyTo);
    }

    /// <summary>Fig. 8 from step 802 at the home server, for a user whose certificate 1 it verified.</summary>
    private void StartHomeHandOff(AuthenticateClient request, string user, IActorRef replyTo)
    {
        if (Fig8HomeServer.Entry(_tables, user, request.Destination, request.Proxy) is { } refusal)
        {
            RefuseClient(replyTo, refusal);
            return;
        }

        if (_admission.TryStart(user, request.Proxy, Now) is { } busy)
        {
            RefuseClient(replyTo, new Refusal(ErrorCodes.Unreachable, PatentStep.Fig8LookUp802, busy));
            return;
        }

        var handOffId = NewHandOffId();
        _telemetry.Started(handOffId);
        _trail.Started(handOffId, Now);
        _abandoned.Started(request.SessionId, handOffId, Now);
        var onward = Fig8HomeServer.Route(_tables, user, request.Destination);
        if (!Step(onward.Steps[0], handOffId)) // step 802
        {
            return;
        }

        foreach (var reached in onward.Steps.Skip(1))
        {
            Step(reached, handOffId); // 803 (escalated) or 811 (End): the hand-off goes on whatever a harness answers
        }

        switch (onward)
        {
            case Onward.End:
                // A one-proxy chain: the entry proxy is also the exit proxy.
                _telemetry.Ended(handOffId, null);
                replyTo.Tell(new ClientAuthenticated(user, handOffId, [], null, _tables.DestinationAddress(request.Destination), [Me], [], AtHome: true,
                    _trail.End(handOffId)));
                return;
            case Onward.Call call:
                StartCall(new Pending(handOffId, replyTo, FromClient: true, request.UserCertificateDer, user, request.Destination,
                    [Me], call.Next, Now + _settings.HandOffTimeout, PatentStep.Fig8Connect805));
                return;
            case Onward.Refused refused:
                _telemetry.Ended(handOffId, refused.Refusal.ErrorAt(Me));
                RefuseClient(replyTo, refused.Refusal);
                return;
        }
    }

    /// <summary>Fig. 8, no-branch of 801: a certificate handed off earlier; no route look-up, then discard (【0045】).</summary>
    private void UseHeldCertificate(AuthenticateClient request, KnownCertificate certificate, IActorRef replyTo)
    {
        switch (Fig8HomeServer.Held(Me, _ledger, request, certificate, Now, _settings.HoldTimeout))
        {
            case HeldDecision.Refused refused:
                if (refused.DropHeld)
                {
                    Drop(request.HandOffId!, "certificate expired");
                }

                RefuseClient(replyTo, refused.Refusal);
                return;
            case HeldDecision.Use use:
                if (!Step(use.Step, use.Held.HandOffId))
                {
                    return;
                }

                Drop(use.Held.HandOffId, "used by the client's hop authentication");
                _telemetry.ClientAnswered(null);
                replyTo.Tell(new ClientAuthenticated(certificate.SubjectName!, use.Held.HandOffId, [], use.Next,
                    use.Next is null ? _tables.DestinationAddress(use.Held.Destination) : null, use.Held.Path, use.Held.Holders));
                return;
        }
    }

    // ---------------------------------------------------------------- Fig. 9: a request from another auth server

    private void HandleOpen(OpenHandOff open)
    {
        _telemetry.CalleeArrived(open.HandOffId, open.TraceParent);
        _trail.Opened(open.HandOffId, open.Traced, Now);
        if (!Step(PatentStep.Fig7Receive701, open.HandOffId, $"hand-off request from {open.Caller}", open.Caller, arriving: open)
            || !Step(PatentStep.Fig7Check702, open.HandOffId, $"inter-server credential of {open.Caller}"))
        {
            return;
        }

        // Fig. 7 step 702 / Fig. 9 step 906: the caller must present a credential this server issued to it.
        var refusal = Fig9RelayServer.CheckCredential(_state, open,
            c => _keys.Verify(c, CertificateKind.InterServer, Now), c => _keys.RetiredKeyOf(c, CertificateKind.InterServer, Now));
        if (refusal is not null)
        {
            FailCallee(Sender, open.HandOffId, new HandOffFailed(refusal.ErrorAt(Me), refusal.Path!));
            return;
        }

        var nonce = PeerProof.NewNonce();
        _ledger.Challenge(nonce, new OpenChallenge(open.Caller, open.HandOffId, open.CredentialDer!, Now + _settings.ChallengeTimeout));
        Sender.Tell(new HandOffChallenge(Me, nonce, _trail.Take(open.HandOffId)));
    }

    private void HandleCertificate(HandOffCertificate request)
    {
        var replyTo = Sender;
        var handOffId = request.HandOffId.Value;
        var path = request.Path.Append(Me).ToList();

        if (Fig9RelayServer.CheckProof(_ledger, request, Me, Now) is { } untrusted)
        {
            FailCallee(replyTo, handOffId, new HandOffFailed(untrusted.ErrorAt(Me), path));
            return;
        }

        // Fig. 9 step 901: receive certificate 1 and hold it while the hand-off goes on.
        if (!Step(PatentStep.Fig9Receive901, handOffId, $"certificate of '{request.User}' for '{request.Destination}' from {request.Caller}", request.Caller))
        {
            return;
        }

        var deadline = Now + request.Budget;
        switch (Fig9RelayServer.Receive(_tables, _ledger, request, Now))
        {
            case RelayDecision.Revoked revoked:
                replyTo.Tell(new HandOffFailed(revoked.Refusal.ErrorAt(Me), path, _trail.End(handOffId)));
                return;
            case RelayDecision.Refused refused:
                FailCallee(replyTo, handOffId, new HandOffFailed(refused.Refusal.ErrorAt(Me), path));
                return;
            case RelayDecision.Go go:
                if (!Step(go.LookUp, handOffId))
                {
                    return;
                }

                foreach (var reached in go.Onward.Steps)
                {
                    Step(reached, handOffId); // 903/904: escalated, the hand-off goes on whatever a harness answers
                }

                var pending = new Pending(handOffId, replyTo, FromClient: false, request.UserCertificateDer, request.User.Value,
                    request.Destination, path, Next: string.Empty, deadline, PatentStep.Fig9Connect905);
                switch (go.Onward)
                {
                    case Onward.End:
                        Complete(pending, new HandOffRouted([], path, [])); // Fig. 9 step 910 with End: only this server's relay proxy
                        return;
                    case Onward.Call call:
                        StartCall(pending with { Next = call.Next });
                        return;
                    case Onward.Refused noRoute:
                        FailCallee(replyTo, handOffId, new HandOffFailed(noRoute.Refusal.ErrorAt(Me), path));
                        return;
                }

                return;
        }
    }

    /// <summary>Fig. 7 step 704 to a calling auth server: this server's part of the hand-off ends with the error.</summary>
    private void FailCallee(IActorRef replyTo, string handOffId, HandOffFailed failed)
    {
        _telemetry.Ended(handOffId, failed.Error);
        replyTo.Tell(failed with { Steps = _trail.End(handOffId) });
    }

    private void RefuseClient(IActorRef replyTo, Refusal refusal)
    {
        var error = refusal.ErrorAt(Me);
        _telemetry.ClientAnswered(error);
        _log.Info("client refused (Fig. 7, step 704): {0}", error);
        replyTo.Tell(new ClientRefused(error, refusal.Path ?? [Me], refusal.VerifiedUser, _trail.EndClient()));
    }
}
