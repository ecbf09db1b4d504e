namespace ActorVpn.AuthServers.State;

/// <summary>
/// When an auth server snapshots its state. A snapshot is the whole state, so its size grows
/// with the registered users (about 0.8 KiB each: 100,000 users are ~78 MiB). Taking one every fixed
/// number of events would write that much again every few registrations; instead a snapshot is due after
/// <see cref="MinimumEvents"/> events, or after as many events as <see cref="UserFraction"/> of the users,
/// whichever is more. So snapshots cost a bounded share of what the events themselves write, and recovery
/// replays at most that many events after the latest snapshot.
/// </summary>
/// <param name="MinimumEvents"><c>snapshot-every</c>: never more often than this many events.</param>
/// <param name="UserFraction"><c>snapshot-every-user-fraction</c>: with N users, at most every N × this events.</param>
public sealed record SnapshotPolicy(int MinimumEvents, double UserFraction)
{
    public static readonly SnapshotPolicy Default = new(1000, 0.1);

    /// <summary>How many events may follow the latest snapshot of a state with <paramref name="users"/> users.</summary>
    public long Interval(int users) => Math.Max(MinimumEvents, (long)Math.Ceiling(users * UserFraction));

    /// <summary>Is a snapshot due, <paramref name="eventsSinceSnapshot"/> events after the latest one?</summary>
    public bool IsDue(long eventsSinceSnapshot, int users) => eventsSinceSnapshot >= Interval(users);
}
