using ActorVpn.AuthServers.HandOff;
using ActorVpn.Protocol;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;
using static ActorVpn.Protocol.AuthServerAdmin;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>Every hand-off error code, each from a topology that really produces it, with where it failed and the path so far.</summary>
public sealed class ErrorCodeTests(ITestOutputHelper output)
{
    private const string Proxies = """
        proxies {
          proxy1 { auth-server = as1, listen = "127.0.0.1:7101" }
          proxy2 { auth-server = as2, listen = "127.0.0.1:7102" }
          proxy3 { auth-server = as3, listen = "127.0.0.1:7103" }
        }
        users { alice { auth-server = as1 } }
        """;

    /// <summary>The patent's example with the auth-servers section replaced.</summary>
    private static string Example(string authServers) => $$"""
        actorvpn.topology {
          destinations { server = "127.0.0.1:9000" }
          auth-servers {
        {{authServers}}
          }
        {{Proxies}}
        }
        """;

    private static void AssertError(RouteTraceResultLike result, string code, string at, params string[] path)
    {
        Assert.Equal(code, result.Error.Code);
        Assert.Equal(at, result.Error.At);
        Assert.Equal(path, result.Path);
        Assert.False(string.IsNullOrWhiteSpace(result.Error.Message));
        Assert.StartsWith("Fig. ", result.Error.Step, StringComparison.Ordinal);
    }

    private sealed record RouteTraceResultLike(HandOffError Error, IReadOnlyList<string> Path);

    private static async Task<RouteTraceResultLike> Fails(TestPlane p, string user = "alice", string destination = "server", ActorVpn.Hosting.UserEnrollment? enrollment = null)
    {
        var result = await p.TraceFailsAsync(user, destination, enrollment);
        Assert.Empty(result.Route);
        Assert.Empty(result.Holders);
        Assert.Contains("\"ok\":false", result.ToJson(), StringComparison.Ordinal);
        return new(result.Error!, result.HandOff);
    }

    private static async Task AssertNothingHeldAsync(TestPlane p)
    {
        await p.Kit.AwaitAssertAsync(async () =>
        {
            foreach (var server in p.Topology.AuthServers)
            {
                var status = await p.StatusAsync(server.Name);
                Assert.Empty(status.Held);
                Assert.Equal(0, status.PendingHandOffs);
            }
        }, TestPlane.Patience);
    }

    [Fact]
    public async Task Unknown_user_is_refused_before_any_hand_off()
    {
        using var p = await TestPlane.StartAsync(output);
        AssertError(await Fails(p, user: "mallory"), ErrorCodes.UnknownUser, "-");
    }

    [Fact]
    public async Task Certificate_of_a_user_not_registered_at_the_entry_server_is_unknown_user_there()
    {
        using var p = await TestPlane.StartAsync(output);
        var bob = await p.RegisterAsync("bob", "as2"); // home: as2, presented at as1's proxy
        var refused = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy1", bob.CertificateDer, "server"));
        Assert.Equal(ErrorCodes.UnknownUser, refused.Error.Code);
        Assert.Equal("as1", refused.Error.At);
        Assert.Equal(["as1"], refused.HandOffPath);
    }

    [Fact]
    public async Task Unknown_destination_is_refused_at_the_home_server()
    {
        using var p = await TestPlane.StartAsync(output);
        AssertError(await Fails(p, destination: "nowhere"), ErrorCodes.UnknownDestination, "as1", "as1");

        // The home server itself refuses it too (a proxy asking for a destination nobody knows).
        var alice = await p.RegisterAsync("alice", "as1");
        var refused = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy1", alice.CertificateDer, "nowhere"));
        Assert.Equal(ErrorCodes.UnknownDestination, refused.Error.Code);
        Assert.Equal("as1", refused.Error.At);
    }

    [Fact]
    public async Task Member_without_an_entry_and_without_an_upper_server_fails_with_no_route()
    {
        using var p = await TestPlane.StartAsync(output, Example("""
            as1 { routes { server = as2 }, relays { server = proxy1 } }
            as2 { relays { server = proxy2 }, trusts = [as1] }
            as3 { routes { server = end }, relays { server = proxy3 } }
            """));
        AssertError(await Fails(p), ErrorCodes.NoRoute, "as2", "as1", "as2");
        await AssertNothingHeldAsync(p);
    }

    [Fact]
    public async Task Home_server_without_an_entry_and_without_an_upper_server_fails_with_no_route()
    {
        using var p = await TestPlane.StartAsync(output, Example("""
            as1 { relays { server = proxy1 } }
            as2 { relays { server = proxy2 } }
            as3 { routes { server = end }, relays { server = proxy3 } }
            """));
        AssertError(await Fails(p), ErrorCodes.NoRoute, "as1", "as1");
    }

    [Fact]
    public async Task Callee_that_issued_the_caller_no_credential_refuses_it_as_untrusted_peer()
    {
        // The example without `trusts = [as1]` on AS2: AS1 holds no credential of AS2 (【0023】).
        using var p = await TestPlane.StartAsync(output, Example("""
            as1 { routes { server = as2 }, relays { server = proxy1 } }
            as2 { parent = as4, relays { server = proxy2 } }
            as3 { parent = as4, routes { server = end }, relays { server = proxy3 }, trusts = [as4] }
            as4 { routes { server = as3 }, trusts = [as2] }
            """));
        AssertError(await Fails(p), ErrorCodes.UntrustedPeer, "as2", "as1", "as2");
        await AssertNothingHeldAsync(p);
    }

    [Fact]
    public async Task Member_is_not_trusted_by_its_upper_server_implicitly()
    {
        // The topology rule: "Nothing is trusted implicitly, not even a parent by its members".
        using var p = await TestPlane.StartAsync(output, Example("""
            as1 { routes { server = as2 }, relays { server = proxy1 } }
            as2 { parent = as4, relays { server = proxy2 }, trusts = [as1] }
            as3 { parent = as4, routes { server = end }, relays { server = proxy3 }, trusts = [as4] }
            as4 { routes { server = as3 } }
            """));
        AssertError(await Fails(p), ErrorCodes.UntrustedPeer, "as4", "as1", "as2", "as4");
        await AssertNothingHeldAsync(p);
    }

    [Fact]
    public async Task Routes_that_lead_back_to_a_visited_server_fail_with_route_loop()
    {
        using var p = await TestPlane.StartAsync(output, Example("""
            as1 { routes { server = as2 }, relays { server = proxy1 }, trusts = [as2] }
            as2 { routes { server = as1 }, relays { server = proxy2 }, trusts = [as1] }
            as3 { routes { server = end }, relays { server = proxy3 } }
            """));
        AssertError(await Fails(p), ErrorCodes.RouteLoop, "as2", "as1", "as2");
        await AssertNothingHeldAsync(p);
    }

    [Fact]
    public async Task Upper_server_routing_back_to_its_member_fails_with_route_loop()
    {
        using var p = await TestPlane.StartAsync(output, Example("""
            as1 { routes { server = as2 }, relays { server = proxy1 } }
            as2 { parent = as4, relays { server = proxy2 }, trusts = [as1, as4] }
            as3 { parent = as4, routes { server = end }, relays { server = proxy3 }, trusts = [as4] }
            as4 { routes { server = as2 }, trusts = [as2] }
            """));
        AssertError(await Fails(p), ErrorCodes.RouteLoop, "as4", "as1", "as2", "as4");
        await AssertNothingHeldAsync(p);
    }

    [Fact]
    public async Task Revoked_user_is_refused_at_the_home_server()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        Assert.True((await p.TraceAsync("alice", "server", alice)).Ok);

        Assert.IsType<UserRevokedAck>(await p.Plane.AskAsync<object>("as1", new RevokeUser("alice")));
        AssertError(await Fails(p, enrollment: alice), ErrorCodes.CertificateRevoked, "as1", "as1");
        Assert.NotNull(Assert.Single((await p.StatusAsync("as1")).Users, u => u.Name == "alice").RevokedAt);
    }

    [Fact]
    public async Task Re_registering_replaces_the_old_certificate_which_then_counts_as_revoked()
    {
        using var p = await TestPlane.StartAsync(output);
        var old = await p.RegisterAsync("alice", "as1");
        var fresh = await p.RegisterAsync("alice", "as1");
        AssertError(await Fails(p, enrollment: old), ErrorCodes.CertificateRevoked, "as1", "as1");
        Assert.True((await p.TraceAsync("alice", "server", fresh)).Ok);
    }

    [Fact]
    public async Task Expired_certificate_is_refused_at_the_home_server()
    {
        var clock = new ManualClock();
        using var p = await TestPlane.StartAsync(output, clock: clock);
        var alice = await p.RegisterAsync("alice", "as1", lifetime: TimeSpan.FromMinutes(1));
        Assert.True((await p.TraceAsync("alice", "server", alice)).Ok);

        clock.Advance(TimeSpan.FromMinutes(2));
        AssertError(await Fails(p, enrollment: alice), ErrorCodes.CertificateExpired, "as1", "as1");
    }

    [Fact]
    public async Task Inter_server_credential_that_expires_after_a_hand_off_it_passed_is_refused_at_the_next_one()
    {
        // The credential's verdict is remembered after the first hand-off; its validity period must still be checked every time.
        var clock = new ManualClock();
        using var p = await TestPlane.StartAsync(output, config: "actorvpn.auth-server.peer-credential-lifetime = 1h\nactorvpn.auth-server.credential-renew-before = 10m", clock: clock);
        var alice = await p.RegisterAsync("alice", "as1", lifetime: TimeSpan.FromDays(30));
        Assert.True((await p.TraceAsync("alice", "server", alice)).Ok);

        clock.Advance(TimeSpan.FromHours(2));
        AssertError(await Fails(p, enrollment: alice), ErrorCodes.UntrustedPeer, "as2", "as1", "as2");
    }

    [Fact]
    public async Task Certificate_that_expires_during_the_hand_off_is_refused_downstream()
    {
        var clock = new ManualClock();
        var interceptor = new Interceptor(s =>
        {
            if (s.AuthServer == "as2" && s.Step == PatentStep.Fig9Receive901)
            {
                clock.Advance(TimeSpan.FromMinutes(2));
            }

            return StepAction.Continue;
        });
        using var p = await TestPlane.StartAsync(output, interceptor: interceptor, clock: clock);
        var alice = await p.RegisterAsync("alice", "as1", lifetime: TimeSpan.FromMinutes(1));
        AssertError(await Fails(p, enrollment: alice), ErrorCodes.CertificateExpired, "as2", "as1", "as2");
    }

    [Fact]
    public async Task Server_that_does_not_answer_in_time_is_reported_as_timeout()
    {
        // Each server gives the next one its remaining time less a twentieth (at least 50 ms): with 4 s, as4 gives up on
        // as3 ~0.2 s before as2 gives up on as4, so a loaded machine that delays as4's answer by tens of milliseconds
        // still sees as3 reported; with 1 s the gap is the 50 ms floor, which a busy test run can swallow.
        using var p = await TestPlane.StartAsync(output, config: "actorvpn.auth-server.handoff-timeout = 4s",
            interceptor: Interceptor.Always("as3", PatentStep.Fig9Receive901, StepAction.Hang));
        AssertError(await Fails(p), ErrorCodes.Timeout, "as3", "as1", "as2", "as4", "as3");
        await AssertNothingHeldAsync(p);
    }

    [Fact]
    public async Task Stopped_auth_server_is_reported_as_unreachable()
    {
        using var p = await TestPlane.StartAsync(output);
        var as3 = await p.RefOf("as3");
        var watcher = p.Kit.CreateTestProbe();
        watcher.Watch(as3);
        p.Sys.Stop(as3);
        await watcher.ExpectTerminatedAsync(as3, TestPlane.Patience);

        AssertError(await Fails(p), ErrorCodes.Unreachable, "as3", "as1", "as2", "as4", "as3");
    }

    [Fact]
    public async Task Relay_proxy_that_has_not_enrolled_is_put_on_no_route_and_the_hand_off_fails_as_unreachable_there()
    {
        // proxy3 never started, so as3 never issued it an identity: as3 cannot vouch for it (Fig. 9 step 910).
        using var p = await TestPlane.StartAsync(output, unenrolled: ["proxy3"]);

        var result = await p.TraceFailsAsync("alice", "server");
        AssertError(new(result.Error!, result.HandOff), ErrorCodes.Unreachable, "as3", "as1", "as2", "as4", "as3");
        Assert.Equal("Fig. 9, step 910", result.Error!.Step);
        Assert.Contains("proxy3 has not enrolled with as3", result.Error.Message, StringComparison.Ordinal);

        using var json = System.Text.Json.JsonDocument.Parse(result.ToJson());
        var error = json.RootElement.GetProperty("error");
        Assert.Equal("unreachable", error.GetProperty("code").GetString());
        Assert.Equal("as3", error.GetProperty("at").GetString());
        await AssertNothingHeldAsync(p);
    }

    [Fact]
    public async Task Unenrolled_proxy_mid_chain_fails_at_its_server_and_the_certificate_already_held_further_on_is_released()
    {
        // as3 holds certificate 1 for proxy3 by the time the reply reaches as2, whose proxy2 has not enrolled.
        using var p = await TestPlane.StartAsync(output, unenrolled: ["proxy2"]);
        var steps = p.StepProbe();

        var result = await p.TraceFailsAsync("alice", "server");
        AssertError(new(result.Error!, result.HandOff), ErrorCodes.Unreachable, "as2", "as1", "as2", "as4", "as3");
        Assert.Contains("proxy2 has not enrolled with as2", result.Error!.Message, StringComparison.Ordinal);

        // 【0053】: as3 held it (step 910) and drops it at once, not after the hold timeout.
        await Steps.NextAsync(steps, "as3", PatentStep.Fig9ReturnRoute910);
        var dropped = await Steps.NextAsync(steps, "as3", PatentStep.HeldDropped);
        Assert.Contains("released", dropped.Detail, StringComparison.Ordinal);
        await AssertNothingHeldAsync(p);
    }

    [Fact]
    public async Task Once_the_proxy_enrols_its_server_puts_it_on_the_route_with_the_pin_of_the_identity_it_issued()
    {
        using var p = await TestPlane.StartAsync(output, unenrolled: ["proxy3"]);
        Assert.Equal(ErrorCodes.Unreachable, (await p.TraceFailsAsync("alice", "server")).Error!.Code);

        using var key = ActorVpn.Credentials.LeafKey.Create();
        var issued = await p.Plane.EnrollProxyAsync("proxy3", key.SubjectPublicKeyInfo, "127.0.0.1:7103");
        var alice = await p.RegisterAsync("alice", "as1");
        var authenticated = await p.EnterOkAsync(alice, "server");
        var proxy3 = Assert.Single(authenticated.Route, r => r.Proxy == "proxy3");
        using var certificate = ActorVpn.Credentials.CertificateText.FromDer(issued.CertificateDer);
        Assert.Equal(ActorVpn.Credentials.Pins.SpkiSha256(certificate), proxy3.Pin);
        p.Plane.AuthServer("as1").Tell(new SessionEnded(authenticated.HandOffId));
        await AssertNothingHeldAsync(p);
    }

    [Fact]
    public async Task Failure_json_carries_code_at_message_and_path()
    {
        using var p = await TestPlane.StartAsync(output, Example("""
            as1 { routes { server = as2 }, relays { server = proxy1 } }
            as2 { relays { server = proxy2 }, trusts = [as1] }
            as3 { routes { server = end }, relays { server = proxy3 } }
            """));
        var result = await p.TraceFailsAsync("alice", "server");
        using var json = System.Text.Json.JsonDocument.Parse(result.ToJson());
        var root = json.RootElement;
        Assert.False(root.GetProperty("ok").GetBoolean());
        Assert.Equal("alice", root.GetProperty("user").GetString());
        Assert.Equal("server", root.GetProperty("destination").GetString());
        Assert.Equal(["as1", "as2"], root.GetProperty("handoff").EnumerateArray().Select(e => e.GetString()));
        var error = root.GetProperty("error");
        Assert.Equal("no-route", error.GetProperty("code").GetString());
        Assert.Equal("as2", error.GetProperty("at").GetString());
        Assert.Contains("as2", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(ErrorCodes.NoRoute, ErrorCodes.All);
        Assert.Contains("FAILED", result.ToText(), StringComparison.Ordinal);
    }
}
