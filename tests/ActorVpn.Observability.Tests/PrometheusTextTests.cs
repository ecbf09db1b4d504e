using System.Diagnostics.Metrics;
using ActorVpn.Observability.Metrics;
using Xunit;

namespace ActorVpn.Observability.Tests;

/// <summary>The exposition of a meter's instruments: OpenTelemetry's naming for Prometheus, escaped labels, cumulative values.</summary>
public sealed class PrometheusTextTests
{
    [Fact]
    public void Names_get_the_unit_and_total_suffixes_and_label_values_are_escaped()
    {
        using var meter = new Meter($"test.{Guid.NewGuid():N}");
        using var metrics = new PrometheusMetrics(meter.Name);
        var bytes = meter.CreateCounter<long>("demo.relay.io", "By", "bytes");
        var duration = meter.CreateHistogram("demo.duration", "s", "time", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        bytes.Add(5, new KeyValuePair<string, object?>("peer.name", "a\"b\\c\nd"));
        duration.Record(0.5);

        var text = metrics.Scrape();

        Assert.Contains("# TYPE demo_relay_io_bytes_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("demo_relay_io_bytes_total{peer_name=\"a\\\"b\\\\c\\nd\"} 5\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE demo_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("demo_duration_seconds_bucket{le=\"0.1\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("demo_duration_seconds_bucket{le=\"1\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("demo_duration_seconds_bucket{le=\"+Inf\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("demo_duration_seconds_count 1\n", text, StringComparison.Ordinal);
        Assert.Equal(text, metrics.Scrape()); // reading changes nothing
    }
}
