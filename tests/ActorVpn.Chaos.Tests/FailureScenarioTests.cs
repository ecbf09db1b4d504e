using ActorVpn.AuthServers.HandOff;
using ActorVpn.Protocol;
using ActorVpn.Testing;
using Xunit;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.Chaos.Tests;

/// <summary>
/// "What happens when X fails in the middle of Y", on the patent's example system with real actors,
/// TCP and TLS. Every scenario ends with the harness's invariants: sessions ended, nothing held,
/// pending or connected that should not be.
/// </summary>
public sealed class FailureScenarioTests
{
    public static TheoryData<string, PatentStep> HandOffSteps => new()
    {
        { "as1", PatentStep.Fig8LookUp802 },
        { "as1", PatentStep.Fig8SendCertificate808 },
        { "as1", PatentStep.Fig8RouteReceived809 },
        { "as2", PatentStep.Fig9Receive901 },
        { "as2", PatentStep.Fig9Escalate903 },
        { "as2", PatentStep.Fig9ReturnRoute910 },
        { "as4", PatentStep.Fig7Check702 },
        { "as4", PatentStep.DiscardNoRelay0036 },
        { "as3", PatentStep.Fig9LookUp902 },
        { "as3", PatentStep.Fig9ReturnRoute910 },
        { "as2", PatentStep.Fig8HeldUsed811 },
        { "as3", PatentStep.Fig8HeldUsed811 },
    };

    [Theory]
    [MemberData(nameof(HandOffSteps))]
    public async Task Auth_server_crash_at_a_hand_off_step_closes_the_session_and_the_next_one_works(string server, PatentStep step)
    {
        await using var scenario = await VpnScenario.StartExampleAsync();
        await scenario.EnrollAsync("alice");
        scenario.Faults.CrashAt(server, step);

        await using (var failing = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await failing.ClosedByChainAsync(), $"a crash of {server} at {step.Cite()} must close the application's connection");
        }

        Assert.Single(scenario.Faults.Injected);
        await using (var next = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await next.RoundTripAsync(64 * 1024));
        }

        await scenario.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Upper_server_crash_while_a_member_waits_fails_the_request_and_the_group_recovers()
    {
        await using var scenario = await VpnScenario.StartExampleAsync();
        await scenario.EnrollAsync("alice");
        scenario.Faults.CrashAt("as4", PatentStep.Fig9LookUp902);

        var trace = await scenario.TraceAsync("alice");

        Assert.False(trace.Ok);
        // Akka restarts a group's members with their upper server; the failure is reported where it happened.
        Assert.True((ErrorCodes.Unreachable, "as4") == (trace.Error!.Code, trace.Error.At), trace.ToText());
        Assert.Equal(["as1", "as2", "as4"], trace.HandOff);
        Assert.True((await scenario.TraceAsync("alice")).Ok);
        await scenario.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Holder_crash_before_the_clients_hop_authentication_refuses_that_hop()
    {
        await using var scenario = await VpnScenario.StartExampleAsync();
        await scenario.EnrollAsync("alice");

        // AS3 holds certificate 1 and crashes as the client's hop authentication at proxy3 reaches it:
        // what it held in memory is gone, the hop is refused, and the whole chain is closed.
        scenario.Faults.CrashAt("as3", PatentStep.Fig8IssuedHere801);
        await using (var session = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await session.ClosedByChainAsync());
        }

        Assert.Empty((await scenario.AuthStatusAsync("as3")).Held);
        await scenario.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Relay_proxy_that_never_started_is_refused_as_unreachable_by_its_auth_server_not_as_a_protocol_error()
    {
        // proxy3's host is down: it never enrolled with as3, so as3 has no identity of it to vouch for (Fig. 9 step 910).
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions { ProxiesNotStarted = ["proxy3"] });
        await scenario.EnrollAsync("alice");

        var trace = await scenario.TraceAsync("alice");
        Assert.False(trace.Ok, trace.ToText());
        Assert.True((ErrorCodes.Unreachable, "as3") == (trace.Error!.Code, trace.Error.At), trace.ToText());
        Assert.Equal("Fig. 9, step 910", trace.Error.Step);
        Assert.Contains("proxy3 has not enrolled with as3", trace.Error.Message, StringComparison.Ordinal);
        Assert.Equal(["as1", "as2", "as4", "as3"], trace.HandOff);
        Assert.Contains("\"code\":\"unreachable\",\"at\":\"as3\"", trace.ToJson(), StringComparison.Ordinal);

        // The client is refused at the entry proxy with that reason, before any hop is built past it (【0053】).
        await using (var session = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await session.ClosedByChainAsync());
        }

        await scenario.AssertInvariantsAsync();
        var closed = Assert.Single(scenario.ClosedSessions);
        Assert.NotNull(closed.Failure);
        Assert.StartsWith("unreachable at as3", closed.Failure, StringComparison.Ordinal);
        Assert.Contains("proxy3 has not enrolled with as3", closed.Failure, StringComparison.Ordinal);
        Assert.Equal(0, scenario.DestinationConnections());
    }

    [Fact]
    public async Task Proxy_connection_killed_mid_stream_closes_the_application_and_leaves_nothing_behind()
    {
        await using var scenario = await VpnScenario.StartExampleAsync();
        await scenario.EnrollAsync("alice");
        await using (var session = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await session.RoundTripAsync(256 * 1024));
            scenario.KillConnectionsAt("proxy2");
            Assert.True(await session.ClosedByChainAsync());
        }

        await scenario.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Partition_between_two_auth_servers_times_out_and_heals()
    {
        // 4 s: each server gives the next 5% less time, a margin wide enough for a loaded 2-core machine.
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions { Config = "actorvpn.auth-server.handoff-timeout = 4s" });
        await scenario.EnrollAsync("alice");
        scenario.Faults.Partition("as2", "as4");

        var trace = await scenario.TraceAsync("alice");
        Assert.True((ErrorCodes.Timeout, "as4") == (trace.Error?.Code, trace.Error?.At), trace.ToText());
        Assert.Equal(["as1", "as2", "as4"], trace.HandOff);

        scenario.Faults.Heal();
        Assert.True((await scenario.TraceAsync("alice")).Ok);
        await scenario.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Delay_between_two_auth_servers_well_inside_the_hand_off_timeout_still_carries_the_session()
    {
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions { Config = "actorvpn.auth-server.handoff-timeout = 4s" });
        await scenario.EnrollAsync("alice");
        scenario.Faults.Delay("as2", "as4", TimeSpan.FromMilliseconds(200));   // a twentieth of the hand-off timeout

        await using (var session = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await session.RoundTripAsync(64 * 1024));
        }

        var trace = await scenario.TraceAsync("alice");
        Assert.True(trace.Ok, trace.ToText());
        Assert.Equal(["as1", "as2", "as4", "as3"], trace.HandOff);
        // Fig. 7 step 701 at as4: each hand-off request from as2 was held back, then handled.
        Assert.Equal(2, scenario.Faults.Injected.Count(f => (f.Action, f.Step.AuthServer, f.Step.Peer) == (StepAction.Delay, "as4", "as2")));
        await scenario.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Delay_between_two_auth_servers_beyond_the_hand_off_timeout_times_out_there_and_heals()
    {
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions { Config = "actorvpn.auth-server.handoff-timeout = 4s" });
        await scenario.EnrollAsync("alice");
        scenario.Faults.Delay("as2", "as4", TimeSpan.FromSeconds(6));           // longer than the whole hand-off may take

        await using (var session = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await session.ClosedByChainAsync());
        }

        var trace = await scenario.TraceAsync("alice");
        Assert.True((ErrorCodes.Timeout, "as4") == (trace.Error?.Code, trace.Error?.At), trace.ToText());
        Assert.Equal(["as1", "as2", "as4"], trace.HandOff);

        scenario.Faults.Heal();
        await using (var next = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await next.RoundTripAsync(64 * 1024));
        }

        // The traced request reaches as4 after its caller gave up (step 702 at last): it must leave nothing behind.
        var late = trace.Steps.First(s => (s.AuthServer, s.Step) == ("as4", PatentStep.Fig7Receive701)).HandOffId;
        await scenario.AwaitStepAsync("as4", PatentStep.Fig7Check702, handOffId: late);
        await scenario.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Server_crashing_while_a_request_to_it_is_delayed_fails_that_hand_off_cleanly_and_the_next_one_works()
    {
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions { Config = "actorvpn.auth-server.handoff-timeout = 4s" });
        var alice = await scenario.EnrollAsync("alice");
        scenario.Faults.Delay("as2", "as4", TimeSpan.FromSeconds(2)).CrashAt("as4", PatentStep.Fig7Receive701);

        var tracing = scenario.TraceAsync("alice");
        await scenario.AwaitStepAsync("as4", PatentStep.Fig7Receive701);      // as2's request is held back at as4 ...
        using (var certificate = alice.CertificateWithKey())                // ... when another request crashes as4 (and its group)
            await scenario.Node.Control.AskAsync<object>("as4", new AuthenticateClient("proxy2", certificate.RawData, "server", null));

        var trace = await tracing;
        Assert.True((ErrorCodes.Unreachable, "as4") == (trace.Error?.Code, trace.Error?.At), trace.ToText());
        Assert.True((await scenario.TraceAsync("alice")).Ok);                 // the rules stay: this request is delayed and handled
        await scenario.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Slow_downstream_server_makes_the_session_fail_with_timeout_not_hang()
    {
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions { Config = "actorvpn.auth-server.handoff-timeout = 4s" });
        await scenario.EnrollAsync("alice");
        scenario.Faults.HangAt("as3", PatentStep.Fig9Receive901);

        await using (var session = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await session.ClosedByChainAsync());
        }

        var trace = await scenario.TraceAsync("alice");
        Assert.Equal((ErrorCodes.Timeout, "as3"), (trace.Error!.Code, trace.Error.At));
        await scenario.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Certificate_expiring_between_hand_off_and_hop_authentication_is_refused_there()
    {
        var clock = new ManualClock();
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions { Clock = clock, Config = "actorvpn.auth-server.hold-timeout = 1h" });
        var alice = await scenario.EnrollAsync("alice", lifetime: TimeSpan.FromMinutes(10));
        var trace = await scenario.TraceAsync("alice", keepHeld: true);
        Assert.True(trace.Ok);
        var held = Assert.Single((await scenario.AuthStatusAsync("as2")).Held);

        clock.Advance(TimeSpan.FromMinutes(11));
        using var certificate = alice.CertificateWithKey();
        var answer = await scenario.Node.Control.AskAsync<object>("as2", new AuthenticateClient("proxy2", certificate.RawData, "server", held.HandOffId));

        var refused = Assert.IsType<ClientRefused>(answer);
        Assert.Equal((ErrorCodes.CertificateExpired, "as2"), (refused.Error.Code, refused.Error.At));
    }

    [Theory]
    [InlineData(20251125)]
    public async Task Two_hundred_concurrent_sessions_under_random_faults_each_end_cleanly(int seed)
    {
        // Generous handshake deadline: 200 chains of four TLS handshakes each share two cores. All 200
        // come from one address (and reach the inner proxies from the one before), so the per-address
        // admission caps are lifted to the global ones: this test is about faults, not admission.
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions
        {
            Config = """
                actorvpn.auth-server.handoff-timeout = 2s
                actorvpn.data-plane.handshake-timeout = 60s
                actorvpn.data-plane.pre-auth-timeout = 60s
                actorvpn.data-plane.admission { max-unauthenticated-per-address = 4096, max-handshakes-per-address = 1024 }
                """,
        });
        await scenario.EnrollAsync("alice");
        scenario.Faults.Random(seed, probability: 0.001);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
        {
            await using var session = await scenario.ConnectAsync("alice");
            try
            {
                return await session.RoundTripAsync(4096, TimeSpan.FromSeconds(90)) ? "ok" : "corrupted";
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or EndOfStreamException)
            {
                return "closed";
            }
        }));

        var injected = scenario.Faults.Injected;
        var faults = string.Join(", ", injected.Select(f => $"{f.Action} {f.Step.AuthServer} {f.Step.Step}"));
        Assert.DoesNotContain("corrupted", outcomes);

        // A hang costs the one hand-off it holds. A crash also costs every session in flight at that
        // server (its held certificates live in memory only, and an upper server's crash restarts its
        // group), which with 200 sessions between hand-off and hop authentication can be all of them.
        if (!injected.Any(f => f.Action == StepAction.Crash))
        {
            var hangs = injected.Count(f => f.Action == StepAction.Hang);
            Assert.True(outcomes.Count(o => o == "closed") <= hangs, $"more sessions closed than faults explain; faults injected: {faults}");
        }

        scenario.Faults.Heal();
        await using (var after = await scenario.ConnectAsync("alice"))
        {
            Assert.True(await after.RoundTripAsync(4096), $"the system must work again once the faults stop; faults injected: {faults}");
        }

        await scenario.AssertInvariantsAsync(TimeSpan.FromSeconds(40));
    }
}
