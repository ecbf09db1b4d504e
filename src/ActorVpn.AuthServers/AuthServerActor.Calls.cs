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

/// <summary>Calling the next auth server (Fig. 8 steps 805-809 / Fig. 9 steps 905-909) and answering on the reply path (810-811 / 910).</summary>
public sealed partial class AuthServerActor
{
    private void StartCall(Pending pending)
    {
        if (_ledger.Call(pending, Me) is { } loop)
        {
            Fail(pending, loop.ErrorAt(Me), pending.Path);
            return;
        }

        var connectStep = pending.ConnectStep;
        if (!Step(connectStep, pending.HandOffId, $"to {pending.Next}"))
        {
            return;
        }

        var target = AuthServerRegistry.For(Context.System).Find(pending.Next);
        if (target is null)
        {
            Fail(pending, new HandOffError(ErrorCodes.Unreachable, pending.Next, connectStep.Cite(), $"{pending.Next} is not running"), pending.PathToNext);
            return;
        }

        // After a key switch the new key proves this server's identity, with the credential issued for it (Fig. 8 step 805 / Fig. 9 step 905).
        var (credential, nextKey) = CredentialFor(pending.Next);
        pending = _ledger.Pending[pending.HandOffId] with { NextKey = nextKey };
        _ledger.Update(pending);
        Ask(pending, target, new OpenHandOff(Me, credential, pending.HandOffId, _telemetry.TraceParentOf(pending.HandOffId), _trail.IsTraced(pending.HandOffId)));
    }

    private void Ask(Pending pending, IActorRef target, object message)
    {
        var remaining = pending.Deadline - Now;
        if (remaining <= TimeSpan.Zero)
        {
            Fail(pending, new HandOffError(ErrorCodes.Timeout, pending.Next, pending.Step.Cite(), $"no time left to call {pending.Next}"), pending.PathToNext);
            return;
        }

        var id = pending.HandOffId;
        var next = pending.Next;
        target.Ask<object>(message, remaining).PipeTo(Self,
            success: answer => new CallAnswered(id, next, answer),
            failure: e => new CallFailed(id, next, e));
    }

    private void HandleCallAnswered(CallAnswered answered)
    {
        if (_ledger.AnsweredBy(answered.HandOffId, answered.Next) is not { } pending)
        {
            // Released, failed or restarted meanwhile: a route that arrives now will never reach the client.
            if (answered.Answer is HandOffRouted late)
            {
                ReleaseHolders(answered.HandOffId, late.Holders, _ledger.Revoked.GetValueOrDefault(answered.HandOffId)?.User);
            }

            return;
        }

        switch (answered.Answer)
        {
            case HandOffChallenge challenge:
                // Fig. 8 step 808 / Fig. 9 step 908: send certificate 1 with the proof of possession.
                var sendStep = pending.SendStep;
                _ledger.Update(pending = pending with { Step = sendStep });
                _trail.Returned(pending.HandOffId, challenge.Steps); // the callee's steps 701-702 came before this server's 808/908
                if (!Step(sendStep, pending.HandOffId, $"to {pending.Next}"))
                {
                    return;
                }

                var remaining = pending.Deadline - Now;
                var request = new HandOffCertificate(Me, new HandOffId(pending.HandOffId), pending.CertificateDer, new UserName(pending.User), pending.Destination,
                    pending.Path, challenge.Nonce, [], HandOffCalls.DownstreamBudget(remaining), _telemetry.TraceParentOf(pending.HandOffId),
                    _trail.IsTraced(pending.HandOffId));
                request = request with { Proof = PeerProof.Sign(_keys.ProofKey(pending.NextKey).SignData, challenge.Nonce, ProofBinding(pending.Next, request)) };
                var target = AuthServerRegistry.For(Context.System).Find(pending.Next);
                if (target is null)
                {
                    Fail(pending, new HandOffError(ErrorCodes.Unreachable, pending.Next, sendStep.Cite(), $"{pending.Next} stopped"), pending.PathToNext);
                    return;
                }

                Ask(pending, target, request);
                return;
            case HandOffRouted routed:
                _trail.Returned(pending.HandOffId, routed.Steps); // Fig. 9, step 910: what the callee returned, then this server's own
                Step(pending.FromClient ? PatentStep.Fig8RouteReceived809 : PatentStep.Fig9RouteReceived909, pending.HandOffId,
                    $"route [{Step910Aggregation.Proxies(routed.Route)}] from {pending.Next}");
                _ledger.Finish(pending.HandOffId);
                Complete(pending, routed);
                return;
            case HandOffFailed failed:
                _ledger.Finish(pending.HandOffId);
                _trail.Returned(pending.HandOffId, failed.Steps);
                // A callee that refuses the OpenHandOff only knows [caller, callee]: keep the whole path (contract `handoff`).
                Fail(pending, failed.Error, failed.Path.Take(pending.Path.Count).SequenceEqual(pending.Path) ? failed.Path : pending.PathToNext);
                return;
            default:
                Fail(pending, new HandOffError(ErrorCodes.Unreachable, Me, pending.Step.Cite(), $"{pending.Next} answered {answered.Answer.GetType().Name}"), pending.Path);
                return;
        }
    }

    private void HandleCallFailed(CallFailed failed)
    {
        if (_ledger.CallFailed(failed.HandOffId, failed.Next) is not { } pending)
        {
            return;
        }

        var path = pending.PathToNext;
        if (failed.Cause is AskTimeoutException)
        {
            // 【0053】: whatever the silent server may still do for this hand-off is released.
            Tell(pending.Next, new ReleaseHandOff(pending.HandOffId));
            Fail(pending, TimedOut(pending), path);
        }
        else
        {
            Fail(pending, new HandOffError(ErrorCodes.Unreachable, pending.Next, pending.Step.Cite(), $"{pending.Next} could not be called: {failed.Cause.Message}"), path);
        }
    }

    private HandOffError TimedOut(Pending pending) => HandOffCalls.TimedOut(Me, pending.Next, pending.Step, _settings.HandOffTimeout);

    // ---------------------------------------------------------------- the reply path (809-811 / 910)

    private void Complete(Pending pending, HandOffRouted routed)
    {
        var id = pending.HandOffId;
        if (pending.FromClient)
        {
            // Fig. 8 steps 810/811: the aggregated route and "authenticated" to the entry proxy.
            if (!Step(PatentStep.Fig8Authenticated811, id, $"route [{Step910Aggregation.Proxies(routed.Route)}]"))
            {
                return;
            }

            _ledger.Issue(id, new IssuedRoute(routed.Holders, Now + _settings.HoldTimeout, pending.User));
            _telemetry.Ended(id, null);
            pending.ReplyTo.Tell(new ClientAuthenticated(pending.User, id, routed.Route, routed.Route.FirstOrDefault(), null, routed.Path, routed.Holders, AtHome: true,
                _trail.End(id)));
            return;
        }

        var handedOn = new HandedOn(id, pending.CertificateDer, pending.User, pending.Destination, pending.Path);
        switch (Step910Aggregation.Aggregate(_tables, _state.Proxies, handedOn, routed, Now, _settings.HoldTimeout))
        {
            case Aggregation.PassOn pass:
                Step(pass.Discard, id);
                _ledger.Forward(id, pass.Forwarded);
                if (Step(pass.Returned, id))
                {
                    _telemetry.Ended(id, null);
                    pending.ReplyTo.Tell(pass.Reply with { Steps = _trail.End(id) });
                }

                return;
            case Aggregation.Refused refused:
                ReleaseHolders(id, refused.Release); // 【0053】: what the servers further on hold for a route that will not be used
                Fail(pending, refused.Refusal.ErrorAt(Me), refused.Refusal.Path!);
                return;
            case Aggregation.Prepend prepend:
                _ledger.Hold(prepend.Held);
                if (Step(prepend.Returned, id))
                {
                    _telemetry.RelayAdded(id, prepend.Held.RelayProxy);
                    _telemetry.Ended(id, null);
                    pending.ReplyTo.Tell(prepend.Reply with { Steps = _trail.End(id) });
                }

                return;
        }
    }

    private void Fail(Pending pending, HandOffError error, IReadOnlyList<string> path)
    {
        _ledger.Finish(pending.HandOffId);
        _telemetry.Ended(pending.HandOffId, error);
        _log.Info("hand-off {0} failed: {1}", pending.HandOffId, error);
        // A client's hand-off starts only at its home server, after it verified certificate 1: the refusal is that user's.
        var steps = _trail.End(pending.HandOffId);
        pending.ReplyTo.Tell(pending.FromClient ? new ClientRefused(error, path, pending.User, steps) : new HandOffFailed(error, path, steps));
    }

    private void Tell(string authServer, object message)
    {
        if (authServer.Length > 0)
        {
            AuthServerRegistry.For(Context.System).Find(authServer)?.Tell(message);
        }
    }

    private static string NewHandOffId() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('+', '-').Replace('/', '_');

    // ---------------------------------------------------------------- private protocol and records

    private sealed record CallAnswered(string HandOffId, string Next, object Answer);

    private sealed record CallFailed(string HandOffId, string Next, Exception Cause);

    /// <summary>Whom the request being handled right now must be answered.</summary>
    private sealed record Caller(IActorRef ReplyTo, bool FromClient, IReadOnlyList<string> Path);
}
