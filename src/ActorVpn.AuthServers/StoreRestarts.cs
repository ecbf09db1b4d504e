using Akka.Actor;

namespace ActorVpn.AuthServers;

/// <summary>
/// Back-off re-creation of an auth server that stopped because the store failed (a write not
/// confirmed, or recovery impossible): its parent (the upper server of Fig. 4, or the guardian)
/// re-creates it after 0.2 s, 0.4 s, ... up to 5 s, until it recovers. While it is down, callers
/// get <c>unreachable</c> at once (<see cref="AuthServerRegistry"/>): the system fails closed.
/// </summary>
public sealed class StoreRestarts
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, TimeSpan> _backoff = new(StringComparer.Ordinal);

    /// <summary>Sent by an auth server to its parent just before it stops for a store failure.</summary>
    public sealed record RestartAfterStoreFailure(string Name);

    /// <summary>The parent's timer: re-create the named child if it is gone.</summary>
    public sealed record RecreateMember(string Name);

    public void Schedule(IActorContext context, ITimerScheduler timers, string name)
    {
        var delay = _backoff.TryGetValue(name, out var last) ? TimeSpan.FromTicks(Math.Min(Max.Ticks, last.Ticks * 2)) : First;
        _backoff[name] = delay;
        timers.StartSingleTimer($"recreate-{name}", new RecreateMember(name), delay);
    }

    public void Recreate(IActorContext context, ITimerScheduler timers, string name, Func<Props> props)
    {
        if (!context.Child(name).IsNobody())
        {
            // Still stopping: try again a little later.
            timers.StartSingleTimer($"recreate-{name}", new RecreateMember(name), First);
            return;
        }

        context.ActorOf(props(), name);
    }
}
