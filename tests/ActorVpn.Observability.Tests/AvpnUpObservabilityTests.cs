using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace ActorVpn.Observability.Tests;

/// <summary>What an operator sees of the shipped <c>avpn up</c> after a session: <c>/metrics</c>, JSON log lines, console traces.</summary>
public sealed partial class AvpnUpObservabilityTests(AvpnUpFixture avpn) : IClassFixture<AvpnUpFixture>
{
    private static readonly HttpClient Http = new();

    [Fact]
    public async Task Metrics_count_the_session_its_hand_off_at_every_server_and_the_bytes_each_proxy_relayed()
    {
        // The session ended: every proxy sees it as no longer active (the relay ends on its own time).
        var metrics = await AvpnUpFixture.EventuallyAsync(ScrapeAsync,
            m => new[] { "proxy1", "proxy2", "proxy3" }.All(p => m.GetValueOrDefault($"avpn_proxy_sessions_active{{avpn_proxy=\"{p}\"}}", -1) == 0)
                && m.ContainsKey("avpn_proxy_handshakes_refused_total{avpn_proxy=\"proxy1\",avpn_refusal_reason=\"tls-handshake\"}"),
            "the session's end and the refused handshake were not counted");

        Assert.Equal(1, metrics[Handoffs("as1", "home", "routed")]);
        foreach (var server in new[] { "as2", "as4", "as3" })
        {
            Assert.Equal(1, metrics[Handoffs(server, "relay", "routed")]);
        }

        Assert.Equal(1, metrics["avpn_handoff_duration_seconds_count{avpn_auth_server=\"as1\",avpn_handoff_outcome=\"routed\",avpn_handoff_role=\"home\"}"]);
        Assert.Equal(1, metrics["avpn_handoff_duration_seconds_bucket{avpn_auth_server=\"as1\",avpn_handoff_outcome=\"routed\",avpn_handoff_role=\"home\",le=\"+Inf\"}"]);
        foreach (var proxy in new[] { "proxy1", "proxy2", "proxy3" })
        {
            Assert.Equal(1, metrics[$"avpn_proxy_sessions_established_total{{avpn_proxy=\"{proxy}\"}}"]);
        }

        // The exit proxy relays the plaintext, the others the ciphertext around it: each at least the session's bytes, both ways.
        foreach (var proxy in new[] { "proxy1", "proxy2", "proxy3" })
        {
            Assert.True(metrics[$"avpn_proxy_relay_io_bytes_total{{avpn_proxy=\"{proxy}\",avpn_relay_direction=\"to_destination\"}}"] >= AvpnUpFixture.SessionBytes);
            Assert.True(metrics[$"avpn_proxy_relay_io_bytes_total{{avpn_proxy=\"{proxy}\",avpn_relay_direction=\"to_client\"}}"] >= AvpnUpFixture.SessionBytes);
        }

        Assert.Equal(1, metrics["avpn_proxy_handshakes_refused_total{avpn_proxy=\"proxy1\",avpn_refusal_reason=\"tls-handshake\"}"]);
        foreach (var server in new[] { "as1", "as2", "as3", "as4" })
        {
            Assert.Equal(0, metrics[$"avpn_auth_server_handoffs_in_flight{{avpn_auth_server=\"{server}\"}}"]);
            Assert.True(metrics.ContainsKey($"avpn_auth_server_held_certificates{{avpn_auth_server=\"{server}\"}}"));
        }

        Assert.True(metrics["db_client_operation_duration_seconds_count{db_operation_name=\"write\",db_system_name=\"sqlite\"}"] > 0);
        Assert.DoesNotContain(metrics.Keys, k => k.StartsWith("avpn_store_write_failures_total", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_scrape_changes_nothing_it_counts()
    {
        var first = await ScrapeAsync();
        var second = await ScrapeAsync();
        foreach (var (series, value) in first.Where(m => m.Key.StartsWith("avpn_handoffs_total", StringComparison.Ordinal)
            || m.Key.StartsWith("avpn_proxy_sessions_established_total", StringComparison.Ordinal)
            || m.Key.StartsWith("avpn_auth_server_", StringComparison.Ordinal)))
        {
            Assert.Equal(value, second[series]);
        }
    }

    [Fact]
    public async Task Metrics_are_served_in_the_Prometheus_text_format()
    {
        using var response = await Http.GetAsync(avpn.Metrics);
        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE avpn_handoffs_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE avpn_handoff_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE avpn_proxy_sessions_active gauge\n", text, StringComparison.Ordinal);
        Assert.All(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')), line => Assert.Matches(SampleLine(), line));
    }

    [Fact]
    public async Task Metrics_report_the_managed_heap_an_operator_divides_by_open_sessions()
    {
        var text = await Http.GetStringAsync(avpn.Metrics);
        Assert.Contains("# TYPE avpn_process_gc_heap_bytes gauge\n", text, StringComparison.Ordinal);

        // A running avpn up (Akka, four auth servers, three proxies) keeps megabytes of live objects after any collection.
        Assert.True((await ScrapeAsync())["avpn_process_gc_heap_bytes"] > 1 << 20);
    }

    [Fact]
    public async Task With_AVPN_LOG_FORMAT_json_every_log_line_is_one_JSON_object_naming_its_actor_and_session()
    {
        var refused = await AvpnUpFixture.EventuallyAsync(
            () => Task.FromResult(LogLines().FirstOrDefault(l => l.GetProperty("message").GetString()!.Contains("closed at Fig. 6, step 601", StringComparison.Ordinal))),
            line => line.ValueKind == JsonValueKind.Object, "no log line for the refused connection");

        Assert.Equal("info", refused.GetProperty("level").GetString());
        Assert.StartsWith("akka://actorvpn/user/proxies/proxy1/proxy1-", refused.GetProperty("actor").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("proxy1-", refused.GetProperty("session").GetString(), StringComparison.Ordinal);
        Assert.True(DateTimeOffset.TryParse(refused.GetProperty("time").GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out _));

        var lines = LogLines();
        Assert.Contains(lines, l => l.GetProperty("message").GetString()!.StartsWith("auth server as4 ready", StringComparison.Ordinal));
        Assert.All(lines, l =>
        {
            foreach (var field in new[] { "time", "level", "actor", "message" })
            {
                Assert.Equal(JsonValueKind.String, l.GetProperty(field).ValueKind);
            }
        });
        Assert.DoesNotContain(avpn.Avpn.Stdout.Split('\n'), l => l.StartsWith("[INFO]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_AVPN_TRACES_console_the_hand_off_is_one_trace_naming_every_auth_server_on_stderr()
    {
        var spans = await AvpnUpFixture.EventuallyAsync(() => Task.FromResult(ConsoleSpans()),
            s => new[] { "as1", "as2", "as4", "as3" }.All(server => s.Any(span => span.Name == $"handoff {server}")), "the hand-off's spans were not printed");

        var handOff = spans.Where(s => s.Name.StartsWith("handoff ", StringComparison.Ordinal)).ToList();
        Assert.Single(handOff.Select(s => s.TraceId).Distinct());
        var proxyHop = Assert.Single(spans, s => s.Name == "tls hop proxy1" && s.TraceId == handOff[0].TraceId);
        Assert.Equal(proxyHop.SpanId, handOff.Single(s => s.Name == "handoff as1").ParentSpanId);
    }

    private static string Handoffs(string server, string role, string outcome) =>
        $"avpn_handoffs_total{{avpn_auth_server=\"{server}\",avpn_handoff_outcome=\"{outcome}\",avpn_handoff_role=\"{role}\",error_type=\"\"}}";

    private async Task<Dictionary<string, double>> ScrapeAsync()
    {
        var text = await Http.GetStringAsync(avpn.Metrics);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith('#'))
            .Select(l => (Series: l[..l.LastIndexOf(' ')], Value: double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
            .ToDictionary(s => s.Series, s => s.Value);
    }

    private List<JsonElement> LogLines() =>
        avpn.Avpn.Stdout.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private List<(string Name, string TraceId, string SpanId, string? ParentSpanId)> ConsoleSpans()
    {
        var spans = new List<(string, string, string, string?)>();
        foreach (var block in avpn.Avpn.Stderr.Split("\n\n"))
        {
            var fields = block.Split('\n').Select(l => l.Split(':', 2)).Where(p => p.Length == 2).GroupBy(p => p[0].Trim()).ToDictionary(g => g.Key, g => g.First()[1].Trim());
            if (fields.TryGetValue("Activity.DisplayName", out var name) && fields.TryGetValue("Activity.TraceId", out var trace) && fields.TryGetValue("Activity.SpanId", out var span))
            {
                spans.Add((name, trace, span, fields.GetValueOrDefault("Activity.ParentSpanId")));
            }
        }

        return spans;
    }

    [GeneratedRegex("""^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? ([-+]?[0-9.]+([eE][-+]?[0-9]+)?|[-+]Inf|NaN)$""")]
    private static partial Regex SampleLine();
}
