namespace ActorVpn.AuthServers.HandOff;

/// <summary>What an auth server does when it reaches a step; a test harness chooses, production always continues.</summary>
public enum StepAction
{
    Continue,

    /// <summary>Throw: the actor crashes and its supervisor (the upper auth server) restarts it.</summary>
    Crash,

    /// <summary>Stop handling this request without answering (a black hole).</summary>
    Hang,
}

/// <summary>A hook called at every <see cref="PatentStep"/>: fault injection for failure tests.</summary>
public interface IHandOffInterceptor
{
    StepAction OnStep(HandOffStepReached step);
}

/// <summary>The exception an injected <see cref="StepAction.Crash"/> throws.</summary>
public sealed class InjectedFaultException(string message) : Exception(message);
