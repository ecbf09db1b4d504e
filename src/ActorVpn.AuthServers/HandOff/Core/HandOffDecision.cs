using ActorVpn.AuthServers.State;
using ActorVpn.Protocol;

namespace ActorVpn.AuthServers.HandOff.Core;

/// <summary>A step a decision reached, with what the event stream and a trace say about it.</summary>
public sealed record StepReached(PatentStep Step, string Detail);

/// <summary>Why this server refuses, at which patent step (Fig. 7, step 704 to a client, or a failed hand-off to a caller).</summary>
/// <param name="Path">The hand-off path the refusal reports; null: this server alone.</param>
/// <param name="VerifiedUser">The user whose certificate this (home) server verified: the refusal is that user's own attempt.</param>
public sealed record Refusal(string Code, PatentStep Step, string Message, IReadOnlyList<string>? Path = null, string? VerifiedUser = null)
{
    public HandOffError ErrorAt(string server) => new(Code, server, Step.Cite(), Message);
}

/// <summary>Where a hand-off goes from here after the Fig. 2 look-up (step 802 / 902), with the steps that reached it.</summary>
public abstract record Onward(IReadOnlyList<StepReached> Steps)
{
    /// <summary>Fig. 2 "End": this server's relay proxy is the exit proxy.</summary>
    public sealed record End(IReadOnlyList<StepReached> Steps) : Onward(Steps);

    /// <summary>Call <paramref name="Next"/> (step 805 / 905), the Fig. 2 entry or the upper server (step 803 / 903).</summary>
    public sealed record Call(string Next, IReadOnlyList<StepReached> Steps) : Onward(Steps);

    /// <summary>No Fig. 2 entry and no upper server.</summary>
    public sealed record Refused(Refusal Refusal, IReadOnlyList<StepReached> Steps) : Onward(Steps);
}

/// <summary>The Fig. 2 look-up shared by the home server (Fig. 8) and a relay server (Fig. 9).</summary>
public static class RouteLookUp
{
    /// <summary>Steps 802-803 (home) or 902-904 (relay): the next auth server for <paramref name="destination"/>.</summary>
    public static Onward Next(RelayTables tables, string destination, PatentStep escalateStep) => tables.NextFor(destination) switch
    {
        NextHop.End => new Onward.End([]),
        NextHop.Route route => new Onward.Call(route.AuthServer, []),
        NextHop.Escalate escalate => new Onward.Call(escalate.UpperServer,
            [new StepReached(escalateStep, $"no entry for '{destination}': upper server {escalate.UpperServer}")]),
        _ => new Onward.Refused(new Refusal(ErrorCodes.NoRoute, escalateStep, $"{tables.Name} has no route for '{destination}' and no upper server"), []),
    };

    /// <summary>Steps 805 / 905: handing on to a server the certificate already visited would be a loop.</summary>
    public static Refusal? LoopTo(string me, string next, IReadOnlyList<string> path, PatentStep connectStep) => path.Contains(next)
        ? new Refusal(ErrorCodes.RouteLoop, connectStep,
            $"{me} would hand on to {next}, which the certificate already visited: {string.Join(" -> ", path.Append(next))}", path)
        : null;
}

/// <summary>
/// Calling the next auth server (Fig. 8 steps 805-809 / Fig. 9 steps 905-909) against one deadline: every server on the
/// chain waits a little less than the one that called it, so the deepest waiting server times out first.
/// </summary>
public static class HandOffCalls
{
    /// <summary>How long the callee is given out of <paramref name="remaining"/>: 5 % (at least 50 ms) less.</summary>
    public static TimeSpan DownstreamBudget(TimeSpan remaining)
    {
        var margin = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, remaining.Ticks / 20));
        return remaining - margin > TimeSpan.Zero ? remaining - margin : TimeSpan.Zero;
    }

    /// <summary><c>timeout</c>, at the server that did not answer in time.</summary>
    public static HandOffError TimedOut(string me, string next, PatentStep step, TimeSpan handOffTimeout) => new(ErrorCodes.Timeout, next, step.Cite(),
        $"{next} did not answer {me} in time (hand-off timeout {handOffTimeout.TotalSeconds:0.#} s)");

    /// <summary>A call whose answer never came back, by the sweep: its deadline and one hand-off timeout more are past.</summary>
    public static bool IsStale(DateTimeOffset deadline, TimeSpan handOffTimeout, DateTimeOffset now) => deadline + handOffTimeout <= now;
}
