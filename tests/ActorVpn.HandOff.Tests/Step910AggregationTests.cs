using System.Collections.Immutable;
using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.AuthServers.State;
using ActorVpn.Protocol;
using Xunit;
using static ActorVpn.HandOff.Tests.Patent;
using static ActorVpn.Protocol.HandOffProtocol;

namespace ActorVpn.HandOff.Tests;

/// <summary>Fig. 9, step 910: the relay route aggregated on the reply path, and 【0036】's discard.</summary>
public sealed class Step910AggregationTests
{
    private static readonly byte[] CertificateDer = [0x30, 0x01];

    private static ImmutableSortedDictionary<string, ProxyEnrolled> Enrolled(params string[] proxies) =>
        proxies.ToImmutableSortedDictionary(p => p, p => new ProxyEnrolled(p, [], $"pin-{p}", p == "proxy3" ? "10.0.0.3:443" : null), StringComparer.Ordinal);

    private static HandedOn HandedOn(string server, IReadOnlyList<string> pathBefore) => new("h1", CertificateDer, "alice", "server", [.. pathBefore, server]);

    private static Aggregation Aggregate(string server, HandOffRouted routed, IReadOnlyList<string> pathBefore) =>
        Step910Aggregation.Aggregate(Tables(server), Enrolled("proxy2", "proxy3"), HandedOn(server, pathBefore), routed, Now, Hold);

    [Fact]
    public void Step_910_the_route_comes_back_in_route_order_each_server_putting_its_relay_proxy_in_front()
    {
        // The reply path of the patent's example: as3 (End), then as4 (no relay proxy), then as2.
        var atAs3 = Assert.IsType<Aggregation.Prepend>(Aggregate("as3", new HandOffRouted([], ["as1", "as2", "as4", "as3"], []), ["as1", "as2", "as4"]));
        var atAs4 = Assert.IsType<Aggregation.PassOn>(Aggregate("as4", atAs3.Reply, ["as1", "as2"]));
        var atAs2 = Assert.IsType<Aggregation.Prepend>(Aggregate("as2", atAs4.Reply, ["as1"]));

        Assert.Equal(["proxy2", "proxy3"], atAs2.Reply.Route.Select(r => r.Proxy));
        Assert.Equal(["as2", "as3"], atAs2.Reply.Holders);
        Assert.Equal(["as1", "as2", "as4", "as3"], atAs2.Reply.Path);
        Assert.Equal(PatentStep.Fig9ReturnRoute910, atAs2.Returned.Step);
    }

    [Fact]
    public void Step_910_a_server_vouches_for_its_proxy_with_the_pin_it_issued_where_the_proxy_listens()
    {
        var prepend = Assert.IsType<Aggregation.Prepend>(Aggregate("as3", new HandOffRouted([], ["as1", "as2", "as4", "as3"], []), ["as1", "as2", "as4"]));
        Assert.Equal(new RouteEntry("proxy3", "as3", "10.0.0.3:443", "pin-proxy3"), prepend.Reply.Route[0]);
        var fromTopology = Assert.IsType<Aggregation.Prepend>(Aggregate("as2", new HandOffRouted([], ["as1", "as2"], []), ["as1"]));
        Assert.Equal("127.0.0.1:7102", fromTopology.Reply.Route[0].Address); // enrolled without an address: the topology's
    }

    [Fact]
    public void Step_910_certificate_1_is_held_for_the_hold_timeout_with_the_route_from_this_server_on()
    {
        var prepend = Assert.IsType<Aggregation.Prepend>(Aggregate("as2", new HandOffRouted([Entry("proxy3", "as3")], ["as1", "as2", "as4", "as3"], ["as3"]), ["as1"]));
        Assert.Equal("proxy2", prepend.Held.RelayProxy);
        Assert.Equal(CertificateDer, prepend.Held.CertificateDer);
        Assert.Equal(["proxy2", "proxy3"], prepend.Held.Route.Select(r => r.Proxy));
        Assert.Equal(Now + Hold, prepend.Held.ExpiresAt);
    }

    [Fact]
    public void Discard_0036_a_server_without_a_relay_proxy_holds_nothing_and_returns_the_route_as_it_came()
    {
        var routed = new HandOffRouted([Entry("proxy3", "as3")], ["as1", "as2", "as4", "as3"], ["as3"]);
        var pass = Assert.IsType<Aggregation.PassOn>(Aggregate("as4", routed, ["as1", "as2"]));
        Assert.Same(routed, pass.Reply);
        Assert.Equal(PatentStep.DiscardNoRelay0036, pass.Discard.Step);
        Assert.Equal(["as3"], pass.Forwarded.Holders); // released through this server if the hand-off ends
    }

    [Fact]
    public void Step_910_a_relay_proxy_that_never_enrolled_is_put_on_no_route_and_the_servers_further_on_release()
    {
        var routed = new HandOffRouted([Entry("proxy3", "as3")], ["as1", "as2", "as4", "as3"], ["as3"]);
        var refused = Assert.IsType<Aggregation.Refused>(Step910Aggregation.Aggregate(Tables("as2"), Enrolled("proxy3"), HandedOn("as2", ["as1"]), routed, Now, Hold));
        Assert.Equal(ErrorCodes.Unreachable, refused.Refusal.Code);
        Assert.Equal(PatentStep.Fig9ReturnRoute910, refused.Refusal.Step);
        Assert.Equal(["as3"], refused.Release);
    }
}
