using ActorVpn.Protocol;
using Xunit;
using Xunit.Abstractions;
using static ActorVpn.Protocol.ClientAuthProtocol;
using static ActorVpn.Protocol.PatentStep;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>The patent's example (patent.md, "The example's outcome"), step by step, on the real actors.</summary>
public sealed class PatentExampleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Certificate_is_handed_off_as1_as2_as4_as3_and_the_route_grows_on_the_way_back()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        var steps = p.StepProbe();

        var ok = await p.EnterOkAsync(alice, "server");
        var flow = await Steps.UntilAsync(steps, s => s.AuthServer == "as1" && s.Step == Fig8Authenticated811);

        // Figs. 7, 8 and 9 exactly as the flow charts run for the example.
        (string, PatentStep)[] expected =
        [
            ("as1", Fig7Receive701), ("as1", Fig8IssuedHere801), ("as1", Fig8LookUp802), ("as1", Fig8Connect805),
            ("as2", Fig7Receive701), ("as2", Fig7Check702), ("as1", Fig8SendCertificate808),
            ("as2", Fig9Receive901), ("as2", Fig9LookUp902), ("as2", Fig9Escalate903), ("as2", Fig9Connect905),
            ("as4", Fig7Receive701), ("as4", Fig7Check702), ("as2", Fig9SendCertificate908),
            ("as4", Fig9Receive901), ("as4", Fig9LookUp902), ("as4", Fig9Connect905),
            ("as3", Fig7Receive701), ("as3", Fig7Check702), ("as4", Fig9SendCertificate908),
            ("as3", Fig9Receive901), ("as3", Fig9LookUp902), ("as3", Fig9ReturnRoute910),
            ("as4", Fig9RouteReceived909), ("as4", DiscardNoRelay0036), ("as4", Fig9ReturnRoute910),
            ("as2", Fig9RouteReceived909), ("as2", Fig9ReturnRoute910),
            ("as1", Fig8RouteReceived809), ("as1", Fig8Authenticated811),
        ];
        Assert.Equal(expected, flow.Select(s => (s.AuthServer, s.Step)));
        Assert.All(flow.Skip(3), s => Assert.Equal(ok.HandOffId, s.HandOffId));

        // The hand-off path: the servers that received certificate 1 (Fig. 9 step 901), in order.
        Assert.Equal(["as2", "as4", "as3"], flow.Where(s => s.Step == Fig9Receive901).Select(s => s.AuthServer));
        Assert.Equal(["as1", "as2", "as4", "as3"], ok.HandOffPath);

        // AS2 has no Fig. 2 entry and escalates to its upper server AS4 (Fig. 9 step 903/904).
        Assert.Contains("as4", flow.Single(s => s.Step == Fig9Escalate903).Detail, StringComparison.Ordinal);
        Assert.Contains("to as4", flow.Single(s => s.AuthServer == "as2" && s.Step == Fig9Connect905).Detail, StringComparison.Ordinal);
        Assert.Contains("to as3", flow.Single(s => s.AuthServer == "as4" && s.Step == Fig9Connect905).Detail, StringComparison.Ordinal);

        // The route on the way back: AS3 answers [proxy3], AS4 adds nothing, AS2 prepends proxy2.
        Assert.Contains("route [proxy3] from as3", flow.Single(s => s.AuthServer == "as4" && s.Step == Fig9RouteReceived909).Detail, StringComparison.Ordinal);
        Assert.Contains("route [proxy3] from as4", flow.Single(s => s.AuthServer == "as2" && s.Step == Fig9RouteReceived909).Detail, StringComparison.Ordinal);
        Assert.Contains("route [proxy2, proxy3] from as2", flow.Single(s => s.AuthServer == "as1" && s.Step == Fig8RouteReceived809).Detail, StringComparison.Ordinal);

        // AS1 delivers [proxy2, proxy3] to proxy1 with "authenticated" (【0039】-【0040】).
        Assert.Equal("alice", ok.User);
        Assert.Equal(["proxy2", "proxy3"], ok.Route.Select(r => r.Proxy));
        Assert.Equal(["as2", "as3"], ok.Route.Select(r => r.AuthServer));
        Assert.Equal(["127.0.0.1:7102", "127.0.0.1:7103"], ok.Route.Select(r => r.Address));
        Assert.Equal("proxy2", ok.NextHop?.Proxy);
        Assert.Null(ok.DestinationAddress);
        Assert.Equal(["as2", "as3"], ok.Holders);
    }

    [Fact]
    public async Task Upper_server_adds_no_relay_and_drops_the_certificate_at_once()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        var ok = await p.EnterOkAsync(alice, "server");

        Assert.DoesNotContain(ok.Route, r => r.AuthServer == "as4");
        Assert.DoesNotContain("as4", ok.Holders);
        var as4 = await p.StatusAsync("as4");
        Assert.Empty(as4.Held);
        Assert.Equal(0, as4.PendingHandOffs);
        Assert.Empty((await p.StatusAsync("as1")).Held); // the home server does not hold its own user's certificate
    }

    [Fact]
    public async Task Relay_servers_hold_the_certificate_until_the_client_authenticates_at_their_proxy()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        var ok = await p.EnterOkAsync(alice, "server");

        foreach (var (server, proxy) in new[] { ("as2", "proxy2"), ("as3", "proxy3") })
        {
            var held = Assert.Single((await p.StatusAsync(server)).Held);
            Assert.Equal(ok.HandOffId, held.HandOffId);
            Assert.Equal("alice", held.User);
            Assert.Equal("server", held.Destination);
            Assert.Equal(proxy, held.RelayProxy);
        }

        // Through proxy1 to proxy2: AS2 authenticates with the held certificate and names the next hop.
        var atProxy2 = Assert.IsType<ClientAuthenticated>(await p.AuthenticateAsync("proxy2", alice.CertificateDer, "server", ok.HandOffId));
        Assert.Equal("alice", atProxy2.User);
        Assert.Equal("proxy3", atProxy2.NextHop?.Proxy);
        Assert.Null(atProxy2.DestinationAddress);
        Assert.Empty((await p.StatusAsync("as2")).Held);
        Assert.Single((await p.StatusAsync("as3")).Held);

        // Through proxies 1 and 2 to proxy3: the exit proxy learns the destination and nothing onwards.
        var atProxy3 = Assert.IsType<ClientAuthenticated>(await p.AuthenticateAsync("proxy3", alice.CertificateDer, "server", ok.HandOffId));
        Assert.Null(atProxy3.NextHop);
        Assert.Equal("127.0.0.1:9000", atProxy3.DestinationAddress);
        Assert.Empty((await p.StatusAsync("as3")).Held);
    }

    [Fact]
    public async Task Held_certificate_is_used_once()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        var ok = await p.EnterOkAsync(alice, "server");
        Assert.IsType<ClientAuthenticated>(await p.AuthenticateAsync("proxy2", alice.CertificateDer, "server", ok.HandOffId));

        var again = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy2", alice.CertificateDer, "server", ok.HandOffId));
        Assert.Equal(ErrorCodes.UnknownUser, again.Error.Code);
        Assert.Equal("as2", again.Error.At);
    }

    [Fact]
    public async Task Holders_drop_the_certificate_after_the_hold_timeout_if_the_client_never_comes()
    {
        var clock = new ManualClock();
        using var p = await TestPlane.StartAsync(output, config: "actorvpn.auth-server.hold-timeout = 300ms", clock: clock);
        Assert.Equal(TimeSpan.FromMilliseconds(300), p.Settings.HoldTimeout);
        var alice = await p.RegisterAsync("alice", "as1");
        var ok = await p.EnterOkAsync(alice, "server");
        Assert.Single((await p.StatusAsync("as2")).Held);
        Assert.Single((await p.StatusAsync("as3")).Held);

        clock.Advance(TimeSpan.FromMilliseconds(301));
        await p.Kit.AwaitAssertAsync(async () =>
        {
            Assert.Empty((await p.StatusAsync("as2")).Held);
            Assert.Empty((await p.StatusAsync("as3")).Held);
        }, TestPlane.Patience);

        // The client that comes too late is refused.
        var late = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy2", alice.CertificateDer, "server", ok.HandOffId));
        Assert.Equal(ErrorCodes.UnknownUser, late.Error.Code);
    }

    [Fact]
    public async Task Hold_timeout_on_the_real_clock_drops_the_certificate_at_every_holder()
    {
        using var p = await TestPlane.StartAsync(output, config: "actorvpn.auth-server.hold-timeout = 300ms");
        var alice = await p.RegisterAsync("alice", "as1");
        var steps = p.StepProbe();
        var ok = await p.EnterOkAsync(alice, "server");

        var dropped = new List<HandOffStepReached>();
        while (dropped.Select(d => d.AuthServer).Distinct().Count() < 2)
        {
            dropped.Add(await steps.FishForMessageAsync<HandOffStepReached>(s => s.Step == HeldDropped, TestPlane.Patience));
        }

        Assert.Equal(["as2", "as3"], dropped.Select(d => d.AuthServer).Order());
        Assert.All(dropped, d => Assert.Equal(ok.HandOffId, d.HandOffId));
        Assert.All(dropped, d => Assert.Contains("did not authenticate", d.Detail, StringComparison.Ordinal));
        await p.Kit.AwaitAssertAsync(async () =>
        {
            Assert.Empty((await p.StatusAsync("as2")).Held);
            Assert.Empty((await p.StatusAsync("as3")).Held);
        }, TestPlane.Patience);
    }

    [Fact]
    public async Task Session_end_releases_what_the_holders_still_hold()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        var ok = await p.EnterOkAsync(alice, "server");
        (await p.RefOf("as1")).Tell(new SessionEnded(ok.HandOffId), Akka.Actor.ActorRefs.NoSender);

        await p.Kit.AwaitAssertAsync(async () =>
        {
            Assert.Empty((await p.StatusAsync("as2")).Held);
            Assert.Empty((await p.StatusAsync("as3")).Held);
        }, TestPlane.Patience);
    }

    [Fact]
    public async Task Route_trace_reports_route_hand_off_path_and_holders_as_the_contract_prints_them()
    {
        using var p = await TestPlane.StartAsync(output);
        var result = await p.TraceAsync("alice", "server");

        Assert.True(result.Ok);
        Assert.Equal(["proxy1", "proxy2", "proxy3"], result.Route);
        Assert.Equal(["as1", "as2", "as4", "as3"], result.HandOff);
        Assert.Equal(["as2", "as3"], result.Holders);
        Assert.Null(result.Error);
        // The contract's fields exactly; the patent steps follow them (an added field).
        var json = System.Text.Json.Nodes.JsonNode.Parse(result.ToJson())!.AsObject();
        Assert.Equal(result.Steps.Count, json["steps"]!.AsArray().Count);
        json.Remove("steps");
        Assert.Equal(
            """{"ok":true,"user":"alice","destination":"server","route":["proxy1","proxy2","proxy3"],"handoff":["as1","as2","as4","as3"],"holders":["as2","as3"]}""",
            json.ToJsonString());
        Assert.Contains(result.Steps, s => s.AuthServer == "as4" && s.Step == DiscardNoRelay0036);

        var text = result.ToText();
        Assert.Contains("as1 -> as2 -> as4 -> as3", text, StringComparison.Ordinal);
        Assert.Contains("proxy1 -> proxy2 -> proxy3", text, StringComparison.Ordinal);
        Assert.Contains("as2, as3", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_operators_trace_gets_every_servers_steps_back_on_the_reply_path_in_the_order_they_were_reached()
    {
        using var p = await TestPlane.StartAsync(output);
        await p.RegisterAsync("alice", "as1");
        var steps = p.StepProbe();

        var ok = Assert.IsType<ClientAuthenticated>(await p.Plane.AskAsync<object>("as1", new TraceRoute("alice", "server")));
        var published = await Steps.UntilAsync(steps, s => s.AuthServer == "as1" && s.Step == Fig8Authenticated811);

        // Each server appended its steps to what the server it called returned (Fig. 9, step 910): the same steps, in the
        // same order, as every server published them where it runs.
        Assert.NotNull(ok.Steps);
        Assert.Equal(published.Select(s => (s.AuthServer, s.Step, s.Detail)), ok.Steps.Select(s => (s.AuthServer, s.Step, s.Detail)));
        Assert.Equal(["as1", "as2", "as4", "as3"], ok.Steps.Select(s => s.AuthServer).Distinct());
    }

    [Fact]
    public async Task A_clients_hand_off_carries_no_steps()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");

        Assert.Null((await p.EnterOkAsync(alice, "server")).Steps);
    }
}
