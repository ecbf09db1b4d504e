using ActorVpn.Protocol;

namespace ActorVpn.AuthServers.HandOff.Core;

/// <summary>One hand-off this server is working on, waiting for the next server (Fig. 8 steps 805-809 / Fig. 9 steps 905-909).</summary>
/// <typeparam name="TReplyTo">Whom to answer: opaque to the core (an actor reference in the auth server).</typeparam>
/// <param name="FromClient">Started here for a client (Fig. 8, the home server), else for a calling server (Fig. 9).</param>
/// <param name="Next">The server called; empty until the look-up chose one.</param>
/// <param name="Step">The step the call is at, for the error if it fails.</param>
/// <param name="NextKey">The credential presented certifies this server's new key, which must then sign the proof.</param>
public sealed record PendingHandOff<TReplyTo>(
    string HandOffId,
    TReplyTo ReplyTo,
    bool FromClient,
    byte[] CertificateDer,
    string User,
    string Destination,
    IReadOnlyList<string> Path,
    string Next,
    DateTimeOffset Deadline,
    PatentStep Step,
    bool NextKey = false)
{
    /// <summary>Fig. 8 step 805 / Fig. 9 step 905.</summary>
    public PatentStep ConnectStep => FromClient ? PatentStep.Fig8Connect805 : PatentStep.Fig9Connect905;

    /// <summary>Fig. 8 step 808 / Fig. 9 step 908.</summary>
    public PatentStep SendStep => FromClient ? PatentStep.Fig8SendCertificate808 : PatentStep.Fig9SendCertificate908;

    /// <summary>The path up to the server called: where a failure of the call is reported.</summary>
    public IReadOnlyList<string> PathToNext => [.. Path, Next];
}

/// <summary>
/// A <see cref="HandOffLedger"/> that also holds the hand-offs waiting for the next server's answer, each with whom to
/// answer. Single-owner as the ledger: only the auth-server actor that owns it changes or reads it.
/// </summary>
/// <typeparam name="TReplyTo">Whom a pending hand-off answers; the core never looks inside it.</typeparam>
public sealed class HandOffLedger<TReplyTo> : HandOffLedger
{
    private readonly Dictionary<string, PendingHandOff<TReplyTo>> _pending = new(StringComparer.Ordinal);

    /// <summary>The hand-offs waiting for the next server, by hand-off id.</summary>
    public IReadOnlyDictionary<string, PendingHandOff<TReplyTo>> Pending => _pending;

    /// <summary>
    /// Fig. 8 step 805 / Fig. 9 step 905: the hand-off waits for <see cref="PendingHandOff{TReplyTo}.Next"/> from now on;
    /// the refusal instead when that server was visited already (a route loop), and then nothing is pending.
    /// </summary>
    public Refusal? Call(PendingHandOff<TReplyTo> pending, string me)
    {
        if (RouteLookUp.LoopTo(me, pending.Next, pending.Path, pending.ConnectStep) is { } loop)
        {
            return loop;
        }

        _pending[pending.HandOffId] = pending with { Step = pending.ConnectStep };
        return null;
    }

    /// <summary>The pending hand-off moved on (the step it is at, the key that proves this server's identity).</summary>
    public void Update(PendingHandOff<TReplyTo> pending) => _pending[pending.HandOffId] = pending;

    /// <summary>
    /// The hand-off an answer of <paramref name="next"/> belongs to; null when it was released, failed or restarted meanwhile,
    /// or the answer comes from a server this hand-off no longer waits for.
    /// </summary>
    public PendingHandOff<TReplyTo>? AnsweredBy(string handOffId, string next) =>
        _pending.TryGetValue(handOffId, out var pending) && pending.Next == next ? pending : null;

    /// <summary>The hand-off is answered (routed or failed): nothing waits for it any more.</summary>
    public PendingHandOff<TReplyTo>? Finish(string handOffId) => _pending.Remove(handOffId, out var pending) ? pending : null;

    /// <summary>
    /// The call to <paramref name="next"/> failed: the hand-off that waited for it, no longer pending. A failure of a call this
    /// hand-off no longer waits for leaves it waiting (its own call answers it, or it goes stale).
    /// </summary>
    public PendingHandOff<TReplyTo>? CallFailed(string handOffId, string next) =>
        AnsweredBy(handOffId, next) is null ? null : Finish(handOffId);

    /// <summary>【0053】: as <see cref="HandOffLedger.Release"/>, and a hand-off still waiting here stops; the server it called is told first.</summary>
    public override Released Release(string handOffId, string me)
    {
        var called = _pending.Remove(handOffId, out var pending) ? pending.Next : null;
        var released = base.Release(handOffId, me);
        return called is null ? released : released with { TellHolders = [called, .. released.TellHolders] };
    }

    /// <summary>
    /// A hand-off ended by the revocation of <paramref name="user"/>, remembered until <paramref name="until"/> (the first reason
    /// is kept): its home server is the first on the path of what is held or pending here.
    /// </summary>
    public void RememberRevoked(string handOffId, string user, DateTimeOffset until)
    {
        var held = Held.GetValueOrDefault(handOffId);
        var home = held?.Path.FirstOrDefault() ?? _pending.GetValueOrDefault(handOffId)?.Path.FirstOrDefault() ?? "its home server";
        RememberRevoked(handOffId, new RevokedHandOff(user, home, held?.CertificateDer, until));
    }

    /// <summary>【0053】 at the home server: the hand-offs of <paramref name="user"/> it started that still wait for an answer.</summary>
    public IReadOnlyList<PendingHandOff<TReplyTo>> InFlightOf(string user) =>
        _pending.Values.Where(p => p.FromClient && p.User == user).ToList();

    /// <summary>
    /// Calls whose answer never came back (a black-holed step, or an ask timeout delivered too late on a starved machine):
    /// their deadline and one hand-off timeout more are past. They are no longer pending; each is to be answered <c>timeout</c>.
    /// </summary>
    public IReadOnlyList<PendingHandOff<TReplyTo>> TakeStale(DateTimeOffset now, TimeSpan handOffTimeout)
    {
        var stale = _pending.Values.Where(p => HandOffCalls.IsStale(p.Deadline, handOffTimeout, now)).ToList();
        foreach (var pending in stale)
        {
            _pending.Remove(pending.HandOffId);
        }

        return stale;
    }
}
