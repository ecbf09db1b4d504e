using System.Diagnostics;

namespace ActorVpn.Observability.Tracing;

/// <summary>
/// Spans that live across actor messages: started in one message, stopped in a later one. They never become
/// <see cref="Activity.Current"/> (an actor's messages run on shared threads, so an ambient span would leak into
/// whatever that thread runs next); a child names its parent explicitly, and a peer gets it as W3C trace context.
/// </summary>
public static class Spans
{
    /// <summary>The W3C <c>traceparent</c> length: <c>00-</c>, 32 hex digits, <c>-</c>, 16 hex digits, <c>-</c>, 2 hex digits.</summary>
    public const int TraceParentLength = 55;

    /// <summary>Starts a span; null when nothing listens (tracing off), which every caller accepts.</summary>
    public static Activity? Start(string name, ActivityKind kind, ActivityContext parent = default, DateTimeOffset startTime = default,
        IEnumerable<KeyValuePair<string, object?>>? tags = null)
    {
        var ambient = Activity.Current;
        var started = VpnTelemetry.Source.StartActivity(name, kind, parent, tags, links: null, startTime);
        Activity.Current = ambient;
        return started;
    }

    /// <summary>Starts a span under <paramref name="parent"/>, a span of this process.</summary>
    public static Activity? StartChild(Activity? parent, string name, ActivityKind kind, DateTimeOffset startTime = default) =>
        Start(name, kind, parent?.Context ?? default, startTime);

    public static void Stop(Activity? span)
    {
        if (span is null || span.IsStopped)
        {
            return;
        }

        var ambient = Activity.Current;
        span.Stop();
        Activity.Current = ambient;
    }

    /// <summary>Ends a span as failed, with the contract's error code in <c>error.type</c>.</summary>
    public static void Fail(Activity? span, string code, string? description = null)
    {
        if (span is null || span.IsStopped)
        {
            return;
        }

        span.SetTag("error.type", code);
        span.SetStatus(ActivityStatusCode.Error, description ?? code);
        Stop(span);
    }

    /// <summary>The W3C <c>traceparent</c> of a span, to send to the next process or actor; null without one.</summary>
    public static string? TraceParentOf(Activity? span) => span?.IdFormat == ActivityIdFormat.W3C ? span.Id : null;

    /// <summary>
    /// The context a peer sent as <c>traceparent</c>, or <c>default</c> (a new trace) unless it is exactly a W3C
    /// version-00 value with non-zero ids: it comes from the network, so anything else is ignored, never trusted.
    /// </summary>
    public static ActivityContext Parse(string? traceParent)
    {
        if (!IsWellFormed(traceParent))
        {
            return default;
        }

        return ActivityContext.TryParse(traceParent, traceState: null, isRemote: true, out var context) ? context : default;
    }

    /// <summary>True for a well-formed <c>traceparent</c> (what a frame validator accepts).</summary>
    public static bool IsWellFormed(string? traceParent)
    {
        if (traceParent is not { Length: TraceParentLength } || !traceParent.StartsWith("00-", StringComparison.Ordinal)
            || traceParent[35] != '-' || traceParent[52] != '-')
        {
            return false;
        }

        var traceId = traceParent.AsSpan(3, 32);
        var spanId = traceParent.AsSpan(36, 16);
        return IsLowerHex(traceId) && IsLowerHex(spanId) && IsLowerHex(traceParent.AsSpan(53, 2))
            && traceId.ContainsAnyExcept('0') && spanId.ContainsAnyExcept('0');
    }

    private static bool IsLowerHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!(char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
