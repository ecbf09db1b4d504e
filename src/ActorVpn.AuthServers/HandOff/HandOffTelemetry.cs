using System.Diagnostics;
using ActorVpn.Observability.Metrics;
using ActorVpn.Observability.Tracing;
using ActorVpn.Protocol;

namespace ActorVpn.AuthServers.HandOff;

/// <summary>
/// One auth server's spans and metrics of the hand-offs it takes part in, kept by its actor alone: a span per visit
/// (Fig. 8 at the home server, Fig. 9 at each later one) with the patent steps it reached, the relay proxy it added
/// (step 910) and the error code it failed with; the visit's outcome and duration as metrics. The span's context goes
/// on to the next server in <see cref="HandOffProtocol.OpenHandOff"/> and <see cref="HandOffProtocol.HandOffCertificate"/>.
/// </summary>
internal sealed class HandOffTelemetry(string server)
{
    private readonly Dictionary<string, Visit> _visits = new(StringComparer.Ordinal);
    private readonly AuthServerLoad _load = VpnMetrics.LoadOf(server);
    private Visit? _arriving;

    /// <summary>Fig. 7 step 701 from a proxy: the visit has no hand-off id until the home server starts one (802).</summary>
    public void ClientArrived(string? traceParent, bool atEntry) =>
        _arriving = new Visit(atEntry ? VpnMetrics.Home : "hop", Spans.Parse(traceParent), DateTimeOffset.UtcNow, Stopwatch.GetTimestamp());

    /// <summary>Fig. 8 step 802: the home server starts the hand-off <paramref name="handOffId"/>.</summary>
    public void Started(string handOffId)
    {
        if (_arriving is { } visit)
        {
            _arriving = null;
            visit.Open(server, handOffId);
            _visits[handOffId] = visit;
        }
    }

    /// <summary>Fig. 7 step 701 from another auth server (Fig. 9 step 905 of the caller).</summary>
    public void CalleeArrived(string handOffId, string? traceParent)
    {
        if (_visits.ContainsKey(handOffId))
        {
            return; // the same hand-off again: a route loop, failed on its certificate (Fig. 9 step 901)
        }

        var visit = new Visit(VpnMetrics.Relay, Spans.Parse(traceParent), DateTimeOffset.UtcNow, Stopwatch.GetTimestamp());
        visit.Open(server, handOffId);
        _visits[handOffId] = visit;
    }

    public void Step(string handOffId, PatentStep step)
    {
        if ((_visits.GetValueOrDefault(handOffId) ?? _arriving) is { } visit)
        {
            visit.Steps.Add(step.Cite());
        }
    }

    public void RelayAdded(string handOffId, string proxy) => _visits.GetValueOrDefault(handOffId)?.Span?.SetTag("avpn.relay.added", proxy);

    /// <summary>The W3C context the next server's span hangs under.</summary>
    public string? TraceParentOf(string handOffId) => Spans.TraceParentOf(_visits.GetValueOrDefault(handOffId)?.Span);

    /// <summary>This server answered for <paramref name="handOffId"/>: routed (null), or failed with a contract error code.</summary>
    public void Ended(string handOffId, HandOffError? error)
    {
        if (_visits.Remove(handOffId, out var visit))
        {
            visit.End(server, error);
        }
    }

    /// <summary>A client's request answered before any hand-off started (refused at 702 or 802, or a held certificate used at 811).</summary>
    public void ClientAnswered(HandOffError? error)
    {
        if (_arriving is { } visit)
        {
            _arriving = null;
            visit.Open(server, handOffId: null);
            visit.End(server, error);
        }
    }

    /// <summary>The actor restarts or stops: whatever it was visiting ends as <c>unreachable</c> (callers are told so).</summary>
    public void Abandon(string why)
    {
        foreach (var id in _visits.Keys.ToList())
        {
            Ended(id, new HandOffError(ErrorCodes.Unreachable, server, "Fig. 7", why));
        }
    }

    /// <summary>
    /// Ends visits nobody answered for within <paramref name="maxAge"/> as <c>timeout</c> (a caller that opened a hand-off
    /// and never sent certificate 1, a request black-holed by a fault), so a span is never kept for good.
    /// </summary>
    public void Sweep(TimeSpan maxAge)
    {
        foreach (var id in _visits.Where(v => v.Value.Age > maxAge).Select(v => v.Key).ToList())
        {
            Ended(id, new HandOffError(ErrorCodes.Timeout, server, "Fig. 7", $"{server} answered nothing for this hand-off within {maxAge.TotalSeconds:0.#} s"));
        }
    }

    /// <summary>Published for a scrape after each message: held certificates and hand-offs waiting on the next server.</summary>
    public void Report(int held, int inFlight) => _load.Set(held, inFlight);

    private sealed class Visit(string role, ActivityContext parent, DateTimeOffset startedAt, long started)
    {
        public List<string> Steps { get; } = [];

        public Activity? Span { get; private set; }

        public TimeSpan Age => Stopwatch.GetElapsedTime(started);

        public void Open(string server, string? handOffId)
        {
            Span = Spans.Start(role == "hop" ? $"authenticate {server}" : $"handoff {server}", ActivityKind.Server, parent, startedAt);
            Span?.SetTag(VpnMetrics.AuthServer, server);
            Span?.SetTag(VpnMetrics.Role, role);
            if (handOffId is not null)
            {
                Span?.SetTag("avpn.handoff.id", handOffId);
            }
        }

        public void End(string server, HandOffError? error)
        {
            VpnMetrics.HandOffEnded(server, role, error?.Code, Stopwatch.GetElapsedTime(started));
            if (Span is not { } span)
            {
                return;
            }

            span.SetTag("avpn.patent.steps", Steps.ToArray());
            if (error is null)
            {
                Spans.Stop(span);
                return;
            }

            span.SetTag("avpn.error.at", error.At);
            Spans.Fail(span, error.Code, error.Message);
        }
    }
}
