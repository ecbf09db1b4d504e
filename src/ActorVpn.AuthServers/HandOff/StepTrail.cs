using ActorVpn.Protocol;

namespace ActorVpn.AuthServers.HandOff;

/// <summary>
/// The patent steps one auth server reached for the traced hand-offs it takes part in (an operator's route trace), kept to
/// go back on the reply path with the answer: as the relay route is aggregated at Fig. 9, step 910, each server appends the
/// steps the server it called returned to its own, so the home server answers the trace with every server's steps, in the
/// order the hand-off reached them, wherever the servers run. Each answer carries the steps reached since the last one
/// (the challenge of Fig. 9 step 906 those of Fig. 7 steps 701-702, the route or the failure the rest).
/// </summary>
/// <remarks>
/// Only traced hand-offs are kept: a client's hand-off carries no steps, so the hot path (hand-offs per second) sends no more
/// than a flag, and its steps stay where they were reached (the event stream and each server's span).
/// </remarks>
internal sealed class StepTrail
{
    private readonly Dictionary<string, Trail> _trails = new(StringComparer.Ordinal);
    private List<HandOffStepReached>? _arriving; // an operator's trace at its home server, before step 802 gives it a hand-off id
    private string? _current; // the trace started by the request being handled (step 802)

    /// <summary>Fig. 7 step 701 from a proxy (not traced) or from an operator's route trace (traced).</summary>
    public void ClientArrived(bool traced)
    {
        _arriving = traced ? [] : null;
        _current = null;
    }

    /// <summary>Fig. 8 step 802: the home server started <paramref name="handOffId"/>; a traced request's steps so far go with it.</summary>
    public void Started(string handOffId, DateTimeOffset now)
    {
        if (_arriving is { } steps)
        {
            _arriving = null;
            _current = handOffId;
            _trails[handOffId] = new Trail(steps, now);
        }
    }

    /// <summary>Fig. 7 step 701 from another auth server: a traced caller asks for the steps back.</summary>
    public void Opened(string handOffId, bool traced, DateTimeOffset now)
    {
        if (traced)
        {
            _trails.TryAdd(handOffId, new Trail([], now));
        }
    }

    public bool IsTraced(string handOffId) => _trails.ContainsKey(handOffId);

    /// <summary>A step this server reached.</summary>
    public void Reached(HandOffStepReached step)
    {
        if (_trails.TryGetValue(step.HandOffId, out var trail))
        {
            trail.Steps.Add(step);
        }
        else
        {
            _arriving?.Add(step);
        }
    }

    /// <summary>Fig. 8 steps 805-809, Fig. 9 steps 905-909: the steps the called server returned, after this server's own so far.</summary>
    public void Returned(string handOffId, IReadOnlyList<HandOffStepReached>? steps)
    {
        if (steps is not null && _trails.TryGetValue(handOffId, out var trail))
        {
            trail.Steps.AddRange(steps);
        }
    }

    /// <summary>The steps to send with an answer that is not the last (the challenge); null if not traced.</summary>
    public IReadOnlyList<HandOffStepReached>? Take(string handOffId)
    {
        if (!_trails.TryGetValue(handOffId, out var trail))
        {
            return null;
        }

        var steps = trail.Steps.ToList();
        trail.Steps.Clear();
        return steps;
    }

    /// <summary>The steps to send with this server's last answer for <paramref name="handOffId"/>; null if not traced.</summary>
    public IReadOnlyList<HandOffStepReached>? End(string handOffId) =>
        _trails.Remove(handOffId, out var trail) ? trail.Steps : null;

    /// <summary>A refusal to the proxy or operator that asked: the steps of the request being handled.</summary>
    public IReadOnlyList<HandOffStepReached>? EndClient()
    {
        var steps = _arriving ?? (_current is { } current ? End(current) : null);
        _arriving = null;
        _current = null;
        return steps;
    }

    /// <summary>Forgets traces nobody answered (a black-holed request, a challenge never taken up).</summary>
    public void Sweep(DateTimeOffset startedBefore)
    {
        foreach (var (id, _) in _trails.Where(t => t.Value.Since < startedBefore).ToList())
        {
            _trails.Remove(id);
        }
    }

    private sealed record Trail(List<HandOffStepReached> Steps, DateTimeOffset Since);
}
