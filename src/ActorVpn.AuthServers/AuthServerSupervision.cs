using Akka.Actor;

namespace ActorVpn.AuthServers;

/// <summary>
/// How an upper auth server supervises the members of its group (Fig. 4).
///
/// One-for-one: members are independent servers; a crash in one must not restart its siblings,
/// which would drop the certificates they hold and the hand-offs they are working on.
/// Restart (not resume): after an unexpected exception the in-memory state cannot be trusted, and
/// an event-sourced member rebuilds its users, keys and credentials exactly from its journal.
/// A member that keeps crashing (more than 10 times a minute) is stopped rather than left
/// flapping: callers then get <c>unreachable</c> at once, and the operator sees it in the logs.
/// A member that cannot even be constructed is stopped as well: restarting cannot fix that.
/// </summary>
public static class AuthServerSupervision
{
    public static readonly SupervisorStrategy Strategy = new OneForOneStrategy(
        maxNrOfRetries: 10,
        withinTimeRange: TimeSpan.FromMinutes(1),
        localOnlyDecider: cause => cause switch
        {
            ActorInitializationException => Directive.Stop,
            ActorKilledException => Directive.Stop,
            _ => Directive.Restart,
        });
}
