using ActorVpn.Protocol;
using Akka.Actor;

namespace ActorVpn.AuthServers.HandOff;

/// <summary>What an auth server does when it reaches a step; a test harness chooses, production always continues.</summary>
public enum StepAction
{
    Continue,

    /// <summary>Throw: the actor crashes and its supervisor (the upper auth server) restarts it.</summary>
    Crash,

    /// <summary>Stop handling this request without answering (a black hole).</summary>
    Hang,

    /// <summary>
    /// Handle this request <see cref="StepDecision.Delay"/> late, as if it had spent that long on the link. Honoured
    /// where a request arrives (Fig. 7 step 701, before the server has done anything with it): the server sends the
    /// same message to itself, from the same sender, after the delay and handles it then without asking again.
    /// Elsewhere it is ignored with a warning.
    /// </summary>
    Delay,
}

/// <summary>An interceptor's answer at a step: the action, and for <see cref="StepAction.Delay"/> how long.</summary>
public readonly record struct StepDecision(StepAction Action, TimeSpan Delay)
{
    public static StepDecision Continue => new(StepAction.Continue, TimeSpan.Zero);

    /// <summary>Handle the arriving request <paramref name="delay"/> late (see <see cref="StepAction.Delay"/>).</summary>
    public static StepDecision DelayBy(TimeSpan delay) => new(StepAction.Delay, delay);

    public static StepDecision FromStepAction(StepAction action) => new(action, TimeSpan.Zero);

    public static implicit operator StepDecision(StepAction action) => FromStepAction(action);
}

/// <summary>A hook called at every <see cref="PatentStep"/>: fault injection for failure tests.</summary>
public interface IHandOffInterceptor
{
    StepDecision OnStep(HandOffStepReached step);
}

/// <summary>The exception an injected <see cref="StepAction.Crash"/> throws.</summary>
public sealed class InjectedFaultException(string message) : Exception(message);

/// <summary>
/// Where a test harness installs its <see cref="IHandOffInterceptor"/> for one actor system. Production never installs
/// one, so no production <c>Props</c> carries a test hook: every auth server of the system asks this extension at each
/// step, and without an interceptor it continues.
/// </summary>
public sealed class HandOffFaults : IExtension
{
    private volatile IHandOffInterceptor? _interceptor;

    public static HandOffFaults For(ActorSystem system) => system.WithExtension<HandOffFaults, HandOffFaultsProvider>();

    /// <summary>Every auth server of <paramref name="system"/> asks <paramref name="interceptor"/> at each step from now on.</summary>
    public static void Install(ActorSystem system, IHandOffInterceptor interceptor) => For(system)._interceptor = interceptor;

    /// <summary>What to do at <paramref name="step"/>: the installed interceptor's answer, else continue.</summary>
    public StepDecision OnStep(HandOffStepReached step) => _interceptor?.OnStep(step) ?? StepDecision.Continue;
}

public sealed class HandOffFaultsProvider : ExtensionIdProvider<HandOffFaults>
{
    public override HandOffFaults CreateExtension(ExtendedActorSystem system) => new();
}
