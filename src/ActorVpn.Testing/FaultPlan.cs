using ActorVpn.AuthServers.HandOff;
using ActorVpn.Protocol;

namespace ActorVpn.Testing;

/// <summary>
/// Faults injected at named patent steps of named auth servers: crash the actor (its upper server
/// restarts it), black-hole the request, partition two auth servers, or delay the requests between them. Thread-safe; rules can be
/// added and healed while a scenario runs. A seeded random plan is reproducible: replay a failing
/// seed to get the same faults in the same order of steps.
/// </summary>
public sealed class FaultPlan : IHandOffInterceptor
{
    private readonly object _gate = new();
    private readonly List<Rule> _rules = [];
    private readonly List<(HandOffStepReached Step, StepAction Action)> _injected = [];
    private Random? _random;
    private double _probability;
    private IReadOnlySet<PatentStep>? _randomSteps;

    /// <summary>Crash <paramref name="server"/> when it reaches <paramref name="step"/>, the next <paramref name="times"/> times.</summary>
    public FaultPlan CrashAt(string server, PatentStep step, int times = 1) => Add(new Rule(server, step, null, StepAction.Crash, times));

    /// <summary>Let <paramref name="server"/> drop every request at <paramref name="step"/> without answering (a slow or dead server).</summary>
    public FaultPlan HangAt(string server, PatentStep step, int times = int.MaxValue) => Add(new Rule(server, step, null, StepAction.Hang, times));

    /// <summary>
    /// When <paramref name="server"/> reaches <paramref name="step"/> (the next <paramref name="times"/> times), hold the
    /// request there (as <see cref="HangAt"/>) and call <paramref name="action"/>, e.g. to crash the node it runs on
    /// (<see cref="ClusterScenario.KillNodeAt"/>). The action runs on the auth server's thread: start slow work elsewhere.
    /// </summary>
    public FaultPlan When(string server, PatentStep step, Action<HandOffStepReached> action, int times = 1) =>
        Add(new Rule(server, step, null, StepAction.Hang, times) { Then = action });

    /// <summary>A link partition: hand-off requests from <paramref name="caller"/> never reach <paramref name="callee"/>.</summary>
    public FaultPlan Partition(string caller, string callee) => Add(new Rule(callee, PatentStep.Fig7Receive701, caller, StepAction.Hang, int.MaxValue));

    /// <summary>
    /// A slow link: every hand-off request from <paramref name="caller"/> reaches <paramref name="callee"/>
    /// <paramref name="delay"/> late (Fig. 7 step 701 at the callee; see <see cref="StepAction.Delay"/>). The caller's
    /// hand-off timer runs meanwhile, so a delay past what it has left fails the hand-off with <c>timeout</c> at the
    /// callee; the late request then only opens a challenge no one answers. What follows on the link (the certificate
    /// of Fig. 9 step 901) and the answers are not delayed again. Until <see cref="Heal"/>; requests already delayed
    /// still arrive late, unless the callee crashes or stops first (they are lost with it, and their callers time out).
    /// </summary>
    public FaultPlan Delay(string caller, string callee, TimeSpan delay) =>
        Add(new Rule(callee, PatentStep.Fig7Receive701, caller, StepAction.Delay, int.MaxValue) { Delay = Positive(delay) });

    /// <summary>
    /// A slow server: the next <paramref name="times"/> requests arriving at <paramref name="server"/> (from a client's
    /// proxy or from another auth server, Fig. 7 step 701) are handled <paramref name="delay"/> late.
    /// </summary>
    public FaultPlan DelayAt(string server, TimeSpan delay, int times = int.MaxValue) =>
        Add(new Rule(server, PatentStep.Fig7Receive701, null, StepAction.Delay, times) { Delay = Positive(delay) });

    /// <summary>At every step (or only <paramref name="steps"/>), crash or hang with <paramref name="probability"/>, from a seeded generator.</summary>
    public FaultPlan Random(int seed, double probability, IEnumerable<PatentStep>? steps = null)
    {
        lock (_gate)
        {
            _random = new Random(seed);
            _probability = probability;
            _randomSteps = steps?.ToHashSet();
        }

        return this;
    }

    /// <summary>Removes every rule and the random plan: the system is healthy again.</summary>
    public void Heal()
    {
        lock (_gate)
        {
            _rules.Clear();
            _random = null;
        }
    }

    /// <summary>Every fault injected so far, in order (a delayed request once, when it was held back).</summary>
    public IReadOnlyList<(HandOffStepReached Step, StepAction Action)> Injected
    {
        get
        {
            lock (_gate)
            {
                return _injected.ToList();
            }
        }
    }

    public StepDecision OnStep(HandOffStepReached step)
    {
        lock (_gate)
        {
            var decision = Decide(step);
            if (decision.Action != StepAction.Continue)
            {
                _injected.Add((step, decision.Action));
            }

            return decision;
        }
    }

    private static TimeSpan Positive(TimeSpan delay) =>
        delay > TimeSpan.Zero ? delay : throw new ArgumentOutOfRangeException(nameof(delay), delay, "a delay must be positive");

    private StepDecision Decide(HandOffStepReached step)
    {
        for (var i = 0; i < _rules.Count; i++)
        {
            var rule = _rules[i];
            if (rule.Server == step.AuthServer && rule.Step == step.Step && (rule.Peer is null || rule.Peer == step.Peer))
            {
                if (rule.Remaining != int.MaxValue)
                {
                    _rules[i] = rule with { Remaining = rule.Remaining - 1 };
                    if (rule.Remaining - 1 == 0)
                    {
                        _rules.RemoveAt(i);
                    }
                }

                rule.Then?.Invoke(step);
                return new StepDecision(rule.Action, rule.Delay);
            }
        }

        if (_random is not null && step.Step != PatentStep.HeldDropped && (_randomSteps is null || _randomSteps.Contains(step.Step)))
        {
            var roll = _random.NextDouble();
            if (roll < _probability)
            {
                return roll < _probability / 2 ? StepAction.Crash : StepAction.Hang;
            }
        }

        return StepAction.Continue;
    }

    private FaultPlan Add(Rule rule)
    {
        lock (_gate)
        {
            _rules.Add(rule);
        }

        return this;
    }

    private sealed record Rule(string Server, PatentStep Step, string? Peer, StepAction Action, int Remaining)
    {
        public Action<HandOffStepReached>? Then { get; init; }

        public TimeSpan Delay { get; init; }
    }
}
