using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace ActorVpn.Observability.Metrics;

/// <summary>
/// Every instrument ActorVpn records, with its attribute names. Where OpenTelemetry has a semantic convention it is
/// followed (<c>db.client.operation.duration</c> in seconds, <c>error.type</c>, units <c>s</c> and <c>By</c>); the rest
/// are named under <c>avpn.</c>. Recording is a <see cref="Counter{T}.Add(T)"/> with string tags: no allocation.
/// </summary>
public static class VpnMetrics
{
    public const string AuthServer = "avpn.auth_server";
    public const string Proxy = "avpn.proxy";
    public const string Role = "avpn.handoff.role";
    public const string Outcome = "avpn.handoff.outcome";
    public const string ErrorType = "error.type";
    public const string Direction = "avpn.relay.direction";
    public const string Reason = "avpn.refusal.reason";
    public const string DbSystem = "db.system.name";
    public const string DbOperation = "db.operation.name";

    /// <summary>Bytes the proxy relays towards the destination (from the client's side) and back.</summary>
    public const string TowardsDestination = "to_destination";
    public const string TowardsClient = "to_client";

    /// <summary>The home server's part of a hand-off (Fig. 8), and a later server's (Fig. 9).</summary>
    public const string Home = "home";
    public const string Relay = "relay";

    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private static readonly ConcurrentDictionary<string, AuthServerLoad> Loads = new(StringComparer.Ordinal);

    /// <summary>Each auth server's part of a hand-off as it ended there: routed, or failed with its error code.</summary>
    public static readonly Counter<long> HandOffs = VpnTelemetry.Meter.CreateCounter<long>(
        "avpn.handoffs", "{handoff}", "Hand-offs handled by an auth server, by outcome and error code (role home: one per session attempt)");

    public static readonly Histogram<double> HandOffDuration = VpnTelemetry.Meter.CreateHistogram(
        "avpn.handoff.duration", "s", "Time from a hand-off request reaching an auth server to its answer", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    public static readonly UpDownCounter<long> SessionsActive = VpnTelemetry.Meter.CreateUpDownCounter<long>(
        "avpn.proxy.sessions.active", "{session}", "Sessions a proxy relays right now");

    public static readonly Counter<long> SessionsEstablished = VpnTelemetry.Meter.CreateCounter<long>(
        "avpn.proxy.sessions.established", "{session}", "Sessions a proxy authenticated and connected onwards (Fig. 6 step 608)");

    public static readonly Counter<long> RelayBytes = VpnTelemetry.Meter.CreateCounter<long>(
        "avpn.proxy.relay.io", "By", "Bytes a proxy relayed, by direction");

    public static readonly Counter<long> HandshakesRefused = VpnTelemetry.Meter.CreateCounter<long>(
        "avpn.proxy.handshakes.refused", "{handshake}", "Connections a proxy refused before relaying, by reason (an error code or an admission limit)");

    public static readonly Histogram<double> StoreWriteDuration = VpnTelemetry.Meter.CreateHistogram(
        "db.client.operation.duration", "s", "Durable store writes (journal) of the auth servers and the audit trail", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    public static readonly Counter<long> StoreWriteFailures = VpnTelemetry.Meter.CreateCounter<long>(
        "avpn.store.write.failures", "{write}", "Journal writes the durable store failed or rejected");

    static VpnMetrics()
    {
        VpnTelemetry.Meter.CreateObservableGauge("avpn.auth_server.held_certificates",
            () => Observe(load => load.Held), "{certificate}", "Certificates 1 an auth server holds after Fig. 9 step 910, until the client comes");
        VpnTelemetry.Meter.CreateObservableGauge("avpn.auth_server.handoffs.in_flight",
            () => Observe(load => load.InFlight), "{handoff}", "Hand-offs an auth server waits on the next server for");
        // What a process's live objects took at its last garbage collection (no collection is forced by a scrape): with
        // the process's resident set it tells what each open session costs a proxy in managed objects.
        VpnTelemetry.Meter.CreateObservableGauge("avpn.process.gc.heap",
            () => GC.GetGCMemoryInfo().GenerationInfo.ToArray().Sum(generation => generation.SizeAfterBytes), "By",
            "Managed heap of this process after its last garbage collection, every generation");
    }

    /// <summary>An auth server's current figures: set by its actor after each message, read (only) by a scrape.</summary>
    public static AuthServerLoad LoadOf(string authServer) => Loads.GetOrAdd(authServer, _ => new AuthServerLoad());

    public static void HandOffEnded(string authServer, string role, string? errorCode, TimeSpan duration)
    {
        var outcome = errorCode is null ? "routed" : "failed";
        HandOffs.Add(1, new(AuthServer, authServer), new(Role, role), new(Outcome, outcome), new(ErrorType, errorCode ?? string.Empty));
        HandOffDuration.Record(duration.TotalSeconds, new(AuthServer, authServer), new(Role, role), new(Outcome, outcome));
    }

    public static void HandshakeRefused(string proxy, string reason) =>
        HandshakesRefused.Add(1, new KeyValuePair<string, object?>(Proxy, proxy), new KeyValuePair<string, object?>(Reason, reason));

    private static IEnumerable<Measurement<int>> Observe(Func<AuthServerLoad, int> value)
    {
        foreach (var (server, load) in Loads)
        {
            yield return new Measurement<int>(value(load), new KeyValuePair<string, object?>(AuthServer, server));
        }
    }
}

/// <summary>One auth server's held certificates and hand-offs in flight, written by its actor alone.</summary>
public sealed class AuthServerLoad
{
    private int _held;
    private int _inFlight;

    public int Held => Volatile.Read(ref _held);

    public int InFlight => Volatile.Read(ref _inFlight);

    public void Set(int held, int inFlight)
    {
        Volatile.Write(ref _held, held);
        Volatile.Write(ref _inFlight, inFlight);
    }
}
