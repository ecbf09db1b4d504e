using ActorVpn.AuthServers.HandOff;

namespace ActorVpn.Testing;

/// <summary>
/// Faults injected at named patent steps of named auth servers: crash the actor (its upper server
/// restarts it), black-hole the request, or partition two auth servers. Thread-safe; rules can be
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

    /// <summary>Every fault injected so far, in order.</summary>
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

    public StepAction OnStep(HandOffStepReached step)
    {
        lock (_gate)
        {
            var action = Decide(step);
            if (action != StepAction.Continue)
            {
                _injected.Add((step, action));
            }

            return action;
        }
    }

    private StepAction Decide(HandOffStepReached step)
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
                return rule.Action;
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
    }
}
