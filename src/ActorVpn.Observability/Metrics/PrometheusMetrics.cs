using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace ActorVpn.Observability.Metrics;

/// <summary>
/// The process's ActorVpn instruments in Prometheus' text exposition format (version 0.0.4), aggregated cumulatively by
/// a <see cref="MeterListener"/>: counters and up-down counters summed, histograms bucketed, observable gauges read at
/// each scrape. A scrape only reads: nothing is reset, and the gauges' callbacks read figures their actors publish.
/// <para>
/// Written here rather than with OpenTelemetry's Prometheus exporters: those are served only as betas, the HttpListener
/// one binds a listener of its own (a node serves <c>/metrics</c> on its existing health port), and the aggregation
/// needed is this small.
/// </para>
/// </summary>
public sealed class PrometheusMetrics : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly Lazy<PrometheusMetrics> Shared = new(() => new PrometheusMetrics(VpnTelemetry.Name));

    private readonly MeterListener _listener;
    private readonly List<InstrumentState> _instruments = [];
    private readonly Lock _scrape = new();

    public PrometheusMetrics(params string[] meters)
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (!meters.Contains(instrument.Meter.Name))
                {
                    return;
                }

                var state = new InstrumentState(instrument);
                lock (_instruments)
                {
                    _instruments.Add(state);
                }

                listener.EnableMeasurementEvents(instrument, state);
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>The process's collector (<c>avpn up</c>, <c>avpn node</c>): start it early, a measurement made before is not seen.</summary>
    public static PrometheusMetrics Process => Shared.Value;

    /// <summary>The exposition text of every instrument, in name order.</summary>
    public string Scrape()
    {
        List<InstrumentState> instruments;
        lock (_scrape)
        {
            lock (_instruments)
            {
                instruments = [.. _instruments];
            }

            foreach (var observable in instruments.Where(i => i.IsObservable))
            {
                observable.Clear(); // a gauge's value is what its callback says now
            }

            _listener.RecordObservableInstruments();
            var text = new StringBuilder();
            foreach (var group in instruments.GroupBy(i => i.MetricName).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var first = group.First();
                text.Append("# HELP ").Append(first.MetricName).Append(' ').Append(EscapeHelp(first.Instrument.Description ?? string.Empty)).Append('\n');
                text.Append("# TYPE ").Append(first.MetricName).Append(' ').Append(first.Type).Append('\n');
                foreach (var instrument in group)
                {
                    instrument.Render(text);
                }
            }

            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>OpenTelemetry's rules for Prometheus names: dots to underscores, the unit as a suffix, <c>_total</c> on counters.</summary>
    internal static string NameOf(Instrument instrument)
    {
        var name = Sanitize(instrument.Name);
        var unit = instrument.Unit switch
        {
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            null or "" or "1" => null,
            { } u when u.StartsWith('{') => null,
            { } u => Sanitize(u),
        };
        if (unit is not null && !name.EndsWith("_" + unit, StringComparison.Ordinal))
        {
            name += "_" + unit;
        }

        return IsCounter(instrument) && !name.EndsWith("_total", StringComparison.Ordinal) ? name + "_total" : name;
    }

    internal static string Sanitize(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] is '_' or ':'))
            {
                chars[i] = '_';
            }
        }

        return char.IsAsciiDigit(chars[0]) ? "_" + new string(chars) : new string(chars);
    }

    private static bool IsCounter(Instrument instrument) => instrument is Counter<long> or Counter<int> or Counter<double>
        or ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double>;

    private static string EscapeHelp(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    internal static string EscapeLabel(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    internal static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>One instrument's series, one per distinct tag set. Recording looks the tag set up without allocating.</summary>
    private sealed class InstrumentState
    {
        private static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

        private readonly List<Series> _series = [];
        private readonly double[]? _buckets;

        public InstrumentState(Instrument instrument)
        {
            Instrument = instrument;
            MetricName = NameOf(instrument);
            IsObservable = instrument.IsObservable;
            Type = instrument switch
            {
                Histogram<double> or Histogram<long> or Histogram<int> => "histogram",
                _ when IsCounter(instrument) => "counter",
                _ => "gauge",
            };
            if (Type == "histogram")
            {
                _buckets = (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries?.ToArray() ?? DefaultBuckets;
            }
        }

        public Instrument Instrument { get; }

        public string MetricName { get; }

        public string Type { get; }

        public bool IsObservable { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_series)
            {
                var series = Find(tags);
                if (_buckets is not null)
                {
                    series.Count++;
                    series.Sum += value;
                    var i = 0;
                    while (i < _buckets.Length && value > _buckets[i])
                    {
                        i++;
                    }

                    series.Buckets![i]++;
                }
                else if (IsObservable && Type == "gauge")
                {
                    series.Sum = value;
                }
                else
                {
                    series.Sum += value;
                }
            }
        }

        public void Clear()
        {
            lock (_series)
            {
                _series.Clear();
            }
        }

        public void Render(StringBuilder text)
        {
            lock (_series)
            {
                foreach (var series in _series)
                {
                    if (_buckets is null)
                    {
                        text.Append(MetricName).Append(series.Labels(null)).Append(' ').Append(Number(series.Sum)).Append('\n');
                        continue;
                    }

                    var cumulative = 0L;
                    for (var i = 0; i <= _buckets.Length; i++)
                    {
                        cumulative += series.Buckets![i];
                        var le = i < _buckets.Length ? Number(_buckets[i]) : "+Inf";
                        text.Append(MetricName).Append("_bucket").Append(series.Labels(le)).Append(' ').Append(cumulative).Append('\n');
                    }

                    text.Append(MetricName).Append("_sum").Append(series.Labels(null)).Append(' ').Append(Number(series.Sum)).Append('\n');
                    text.Append(MetricName).Append("_count").Append(series.Labels(null)).Append(' ').Append(series.Count).Append('\n');
                }
            }
        }

        private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var candidate in _series)
            {
                if (candidate.Matches(tags))
                {
                    return candidate;
                }
            }

            var created = new Series(tags.ToArray(), _buckets is null ? null : new long[_buckets.Length + 1]);
            _series.Add(created);
            return created;
        }
    }

    private sealed class Series(KeyValuePair<string, object?>[] tags, long[]? buckets)
    {
        public double Sum;
        public long Count;
        public long[]? Buckets = buckets;

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> other)
        {
            if (other.Length != tags.Length)
            {
                return false;
            }

            for (var i = 0; i < tags.Length; i++)
            {
                if (!string.Equals(tags[i].Key, other[i].Key, StringComparison.Ordinal) || !Equals(tags[i].Value, other[i].Value))
                {
                    return false;
                }
            }

            return true;
        }

        public string Labels(string? le)
        {
            if (tags.Length == 0 && le is null)
            {
                return string.Empty;
            }

            var text = new StringBuilder("{");
            foreach (var (key, value) in tags.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                text.Append(Sanitize(key)).Append("=\"").Append(EscapeLabel(Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty)).Append("\",");
            }

            if (le is not null)
            {
                text.Append("le=\"").Append(le).Append("\",");
            }

            text.Length--;
            return text.Append('}').ToString();
        }
    }
}
