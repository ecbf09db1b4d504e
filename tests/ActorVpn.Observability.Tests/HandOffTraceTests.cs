using System.Diagnostics;
using ActorVpn.Observability;
using ActorVpn.Testing;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Xunit;

namespace ActorVpn.Observability.Tests;

/// <summary>The trace of one session attempt through the patent's example, as an in-memory exporter receives it.</summary>
public sealed class HandOffTraceTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly List<Activity> _exported = [];
    private readonly TracerProvider _tracing;

    public HandOffTraceTests() =>
        _tracing = Sdk.CreateTracerProviderBuilder().AddSource(VpnTelemetry.Name).AddInMemoryExporter(_exported).Build()!;

    public void Dispose() => _tracing.Dispose();

    [Fact]
    public async Task A_session_is_one_trace_through_every_hop_proxy_and_auth_server_of_the_hand_off()
    {
        await using var scenario = await VpnScenario.StartExampleAsync();
        await scenario.EnrollAsync("alice");
        await using (var session = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await session.RoundTripAsync(64 * 1024));
        }

        // The relay spans end with the session, at each proxy.
        var trace = await TraceAsync(spans => spans.Count(s => s.DisplayName.StartsWith("relay ", StringComparison.Ordinal)) == 3);
        var root = Assert.Single(trace, s => s.DisplayName == "session");
        Assert.Equal(default, root.ParentSpanId);
        Assert.Equal(ActivityStatusCode.Unset, root.Status);

        // A span per TLS hop at the client, each with the proxy's own hop span under it.
        foreach (var proxy in new[] { "proxy1", "proxy2", "proxy3" })
        {
            var clientHop = Assert.Single(trace, s => s.DisplayName == $"tls hop {proxy}" && s.Kind == ActivityKind.Client);
            Assert.Equal(root.SpanId, clientHop.ParentSpanId);
            var proxyHop = Assert.Single(trace, s => s.DisplayName == $"tls hop {proxy}" && s.Kind == ActivityKind.Server);
            Assert.Equal(clientHop.SpanId, proxyHop.ParentSpanId);
            var relay = Assert.Single(trace, s => s.DisplayName == $"relay {proxy}");
            Assert.Equal(proxyHop.SpanId, relay.ParentSpanId);
        }

        AssertHandOffChain(trace);
        Assert.Contains("Fig. 8, step 802", Steps(trace, "as1"));
        Assert.Contains("Fig. 9, step 903/904", Steps(trace, "as2")); // no entry for the destination: escalated to as4
        Assert.Contains("Fig. 9, step 910", Steps(trace, "as3"));
    }

    [Fact]
    public async Task A_failing_hand_off_carries_its_error_code_on_the_span_of_the_server_where_it_failed()
    {
        // proxy3 never enrols, so as3 can put no relay proxy on the route: unreachable at as3, Fig. 9 step 910.
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions { ProxiesNotStarted = ["proxy3"] });
        await scenario.EnrollAsync("alice");
        await using (var session = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await session.ClosedByChainAsync());
        }

        var trace = await TraceAsync(spans => spans.Any(s => s.DisplayName == "session"));
        var failedAt = Assert.Single(trace, s => s.DisplayName == "handoff as3");
        Assert.Equal("unreachable", failedAt.GetTagItem("error.type"));
        Assert.Equal("as3", failedAt.GetTagItem("avpn.error.at"));
        Assert.Equal(ActivityStatusCode.Error, failedAt.Status);
        Assert.Contains("Fig. 9, step 901", Steps(trace, "as3"));

        // The servers on the reply path fail with it, naming where it failed; the session ends with the code too.
        foreach (var server in new[] { "as1", "as2", "as4" })
        {
            var span = Assert.Single(trace, s => s.DisplayName == $"handoff {server}");
            Assert.Equal("unreachable", span.GetTagItem("error.type"));
            Assert.Equal("as3", span.GetTagItem("avpn.error.at"));
        }

        Assert.Equal("unreachable", trace.Single(s => s.DisplayName == "session").GetTagItem("error.type"));
        Assert.DoesNotContain(trace, s => s.DisplayName.StartsWith("relay ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_trace_stays_whole_when_the_hand_off_crosses_cluster_nodes()
    {
        // as1 runs on node1 with the proxies and the client; as4's group (as2, as3) on node2: the hand-off crosses Akka.Remote.
        await using var cluster = await ClusterScenario.StartExampleAsync(nodes: 3);
        await cluster.EnrollAsync("alice");
        await using (var session = await cluster.ConnectAsync("alice"))
        {
            Assert.True(await session.RoundTripAsync(1024, TimeSpan.FromSeconds(60)));
        }

        Assert.Equal("node2", await cluster.NodeOfAsync("as4"));
        var trace = await TraceAsync(spans => spans.Any(s => s.DisplayName == "handoff as3"));
        AssertHandOffChain(trace);
    }

    /// <summary>The hand-off: as1 -> as2 -> as4 -> as3, each server's span under its caller's; proxy2 and proxy3 added at step 910.</summary>
    private static void AssertHandOffChain(IReadOnlyList<Activity> trace)
    {
        var parent = Assert.Single(trace, s => s.DisplayName == "tls hop proxy1" && s.Kind == ActivityKind.Server);
        foreach (var (server, relay) in new[] { ("as1", (string?)null), ("as2", "proxy2"), ("as4", null), ("as3", "proxy3") })
        {
            var span = Assert.Single(trace, s => s.DisplayName == $"handoff {server}");
            Assert.Equal(parent.SpanId, span.ParentSpanId);
            Assert.Equal(server, span.GetTagItem("avpn.auth_server"));
            Assert.Equal(relay, span.GetTagItem("avpn.relay.added"));
            Assert.Null(span.GetTagItem("error.type"));
            parent = span;
        }
    }

    private static string[] Steps(IEnumerable<Activity> trace, string server) =>
        (string[])trace.Single(s => s.DisplayName == $"handoff {server}").GetTagItem("avpn.patent.steps")!;

    /// <summary>The spans of the one session's trace, once <paramref name="complete"/> holds for them.</summary>
    private async Task<IReadOnlyList<Activity>> TraceAsync(Func<IReadOnlyList<Activity>, bool> complete)
    {
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            List<Activity> spans;
            try
            {
                spans = [.. _exported];
            }
            catch (InvalidOperationException)
            {
                continue; // the exporter added a span while it was copied
            }

            var root = spans.SingleOrDefault(s => s.DisplayName == "session");
            var trace = root is null ? [] : spans.Where(s => s.TraceId == root.TraceId).ToList();
            if (root is not null && complete(trace))
            {
                return trace;
            }

            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"the trace was not complete within {Deadline.TotalSeconds} s: {string.Join(", ", spans.Select(s => s.DisplayName))}");
            }

            await Task.Delay(50); // polling the exporter's list, not a timed assertion
        }
    }
}
