using System.Collections.Concurrent;
using System.Diagnostics;

namespace ActorVpn.Observability.Logging;

/// <summary>
/// The ids an actor works for, by its path: a session's connection actor registers its session, hand-off and trace
/// ids once it knows them, so each of its log lines carries them (<see cref="LineLogger"/>). Log events reach the
/// logger asynchronously, so an ambient context (an <c>AsyncLocal</c>, <c>Activity.Current</c>) could not be used.
/// </summary>
public static class LogContext
{
    /// <summary>How long an actor's ids outlive it: its last lines (logged just before it stopped) reach the logger later.</summary>
    public static readonly TimeSpan Linger = TimeSpan.FromSeconds(10);

    private static readonly ConcurrentDictionary<string, LogIds> Ids = new(StringComparer.Ordinal);
    private static readonly ConcurrentQueue<(string Path, LogIds Ids, long At)> Removed = new();

    public static void Set(string actorPath, LogIds ids)
    {
        Ids[actorPath] = ids;
        Purge();
    }

    /// <summary>The actor stopped: its ids go once <see cref="Linger"/> has passed.</summary>
    public static void Remove(string actorPath)
    {
        if (Ids.TryGetValue(actorPath, out var ids))
        {
            Removed.Enqueue((actorPath, ids, Stopwatch.GetTimestamp()));
        }

        Purge();
    }

    public static LogIds? Of(string actorPath) => Ids.GetValueOrDefault(actorPath);

    private static void Purge()
    {
        while (Removed.TryPeek(out var oldest) && Stopwatch.GetElapsedTime(oldest.At) > Linger && Removed.TryDequeue(out oldest))
        {
            Ids.TryRemove(new KeyValuePair<string, LogIds>(oldest.Path, oldest.Ids)); // unless set again since
        }
    }
}

/// <summary>What a log line may name besides its actor: the session, the hand-off and the W3C trace.</summary>
public sealed record LogIds(string? Session, string? HandOff, string? TraceId);
