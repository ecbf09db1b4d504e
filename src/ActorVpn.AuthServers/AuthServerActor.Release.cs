using ActorVpn.AuthServers.HandOff;
using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.Protocol;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.AuthServers;

/// <summary>Releasing what is held (【0045】, 【0050】, 【0053】), expiry, and the patent steps a harness may fault.</summary>
public sealed partial class AuthServerActor
{
    private HashSet<object>? _delayedArrived; // requests a harness delayed, now sent back to this server (StepAction.Delay)

    private void HandleSessionEnded(SessionEnded ended)
    {
        if (_ledger.EndSession(ended.HandOffId) is { } issued)
        {
            ReleaseHolders(ended.HandOffId, issued.Holders);
        }
    }

    /// <param name="revokedUser">Set when the release comes from the revocation of the hand-off's user: it is passed down the
    /// chain, and the hand-off is remembered as revoked here (<see cref="HandOffLedger.Revoked"/>).</param>
    private void Release(string handOffId, string reason, string? revokedUser = null)
    {
        if (revokedUser is not null)
        {
            _ledger.RememberRevoked(handOffId, revokedUser, RevokedUntil);
        }

        var released = _ledger.Release(handOffId, Me);
        ReleaseHolders(handOffId, released.TellHolders, revokedUser);
        Dropped(released.Dropped, reason);
    }

    private void Drop(string handOffId, string reason)
    {
        Dropped(_ledger.Drop(handOffId), reason);
    }

    private void Dropped(HeldCertificate? held, string reason)
    {
        if (held is not null)
        {
            Step(PatentStep.HeldDropped, held.HandOffId, $"certificate of '{held.User}' dropped: {reason}");
        }
    }

    private void ReleaseHolders(string handOffId, IEnumerable<string> holders, string? revokedUser = null)
    {
        foreach (var holder in holders)
        {
            Tell(holder, new ReleaseHandOff(handOffId, revokedUser));
        }
    }

    private DateTimeOffset RevokedUntil => Now + _settings.HandOffTimeout + _settings.HoldTimeout;

    /// <summary>
    /// The home server of <paramref name="user"/> persisted its revocation: every hand-off of the user it started and that is
    /// not yet a session at every proxy ends now (【0053】). One still in flight is refused to its entry proxy with
    /// certificate-revoked (Fig. 7, step 704) and released down the chain; one already routed is released at every holder,
    /// which drops the certificate it holds and refuses the hop that comes for it.
    /// </summary>
    private void EndHandOffsOf(string user)
    {
        foreach (var pending in _ledger.InFlightOf(user))
        {
            Release(pending.HandOffId, $"'{user}' was revoked at {Me} (【0053】)", user);
            Fail(pending, new HandOffError(ErrorCodes.CertificateRevoked, Me, PatentStep.Fig7Check702.Cite(), $"'{user}' was revoked at {Me} while its hand-off was in flight"),
                pending.Path);
        }

        foreach (var (handOffId, issued) in _ledger.EndSessionsOf(user))
        {
            _ledger.RememberRevoked(handOffId, user, RevokedUntil);
            _log.Info("{0}: hand-off {1} of revoked user '{2}' released at {3} (【0053】)", Me, handOffId, user, string.Join(", ", issued.Holders));
            ReleaseHolders(handOffId, issued.Holders, user);
        }
    }

    private void SweepExpired()
    {
        var now = Now;
        _abandoned.Sweep(now);
        _telemetry.Sweep(_settings.HandOffTimeout + _settings.HandOffTimeout + _settings.HoldTimeout);
        _trail.Sweep(now - (_settings.HandOffTimeout + _settings.HandOffTimeout + _settings.HoldTimeout));
        var expired = _ledger.Expire(now);
        foreach (var held in expired.Dropped)
        {
            Dropped(held, $"the client did not authenticate within {_settings.HoldTimeout.TotalSeconds:0.#} s");
        }

        // A request whose call never came back (a black-holed step, or its ask timeout delivered too late
        // on a starved machine) is answered with `timeout`, not forgotten: its caller may still be waiting.
        foreach (var stale in _ledger.TakeStale(now, _settings.HandOffTimeout))
        {
            Tell(stale.Next, new ReleaseHandOff(stale.HandOffId)); // 【0053】
            Fail(stale, TimedOut(stale), stale.PathToNext);
        }
    }

    // ---------------------------------------------------------------- steps and faults

    private bool Step(StepReached reached, string handOffId) => Step(reached.Step, handOffId, reached.Detail);

    /// <summary>Marks a patent step: published on the event stream, and a place where a harness may inject a fault.</summary>
    /// <param name="arriving">At Fig. 7 step 701, the request that arrives: what an injected delay sends again later.</param>
    /// <returns>false if the request must not be handled further now (an injected black hole, or a delay).</returns>
    private bool Step(PatentStep step, string handOffId, string detail, string? peer = null, object? arriving = null)
    {
        if (arriving is not null && _delayedArrived?.Remove(arriving) == true)
        {
            return true; // reached, published and delayed already: handled now, without asking the harness again
        }

        _telemetry.Step(handOffId, step);
        var reached = new HandOffStepReached(Me, step, handOffId, detail, peer);
        Context.System.EventStream.Publish(reached);
        _trail.Reached(reached);
        var decision = _faults.OnStep(reached);
        switch (decision.Action)
        {
            case StepAction.Crash:
                throw new InjectedFaultException($"fault injected at {Me}, {step.Cite()}");
            case StepAction.Hang:
                _log.Warning("fault injected at {0}, {1}: request dropped", Me, step.Cite());
                return false;
            case StepAction.Delay when arriving is not null:
                // Nothing has been done with the request yet, so handling it later is handling it as if it arrived later.
                // Its caller's ask timer runs meanwhile, so a delay past the hand-off timeout is a `timeout` there. A timer
                // of this incarnation: if the server crashes or stops first, the request is lost with it and its caller
                // times out, as for a request black-holed (no late copy reaches the recovered server).
                _log.Warning("fault injected at {0}, {1}: request delayed by {2} ms", Me, step.Cite(), decision.Delay.TotalMilliseconds);
                Timers.StartSingleTimer(new object(), new DelayedRequest(arriving, Sender), decision.Delay);
                return false;
            case StepAction.Delay:
                _log.Warning("fault injected at {0}, {1}: a delay is honoured only where a request arrives (Fig. 7 step 701); continuing", Me, step.Cite());
                return true;
            default:
                return true;
        }
    }

    /// <summary>A request delayed at step 701 is due: sent again from its sender, and handled without a second delay.</summary>
    private void HandleDelayedRequest(DelayedRequest delayed)
    {
        (_delayedArrived ??= new HashSet<object>(ReferenceEqualityComparer.Instance)).Add(delayed.Request);
        Self.Tell(delayed.Request, delayed.Sender);
    }

    /// <summary>Runs a handler while remembering whom it must answer, so a crash inside it still answers (see <see cref="PreRestart"/>).</summary>
    private void Answering(Caller? caller, Action handle)
    {
        _answering = caller;
        handle();
        _answering = null;
    }

    /// <summary>A request an injected <see cref="StepAction.Delay"/> held back, with whom it came from.</summary>
    private sealed record DelayedRequest(object Request, IActorRef Sender);

    private sealed record Sweep
    {
        public static readonly Sweep Instance = new();
    }
}
