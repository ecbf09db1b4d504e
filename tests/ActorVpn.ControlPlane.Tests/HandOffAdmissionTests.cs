using ActorVpn.AuthServers.HandOff;
using ActorVpn.Protocol;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>
/// The control plane's admission: one profile cannot start hand-offs without bound (a token bucket
/// per user and per entry proxy), and a hand-off whose proxy stopped waiting is dropped or released
/// along the chain at once rather than held until the hold timeout.
/// </summary>
public sealed class HandOffAdmissionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_user_past_its_burst_is_refused_while_another_user_still_gets_through()
    {
        using var p = await TestPlane.StartAsync(output, config: """
            actorvpn.auth-server.admission.per-user-burst = 3
            actorvpn.auth-server.admission.per-user-per-second = 0.001
            """);
        var alice = await p.RegisterAsync("alice", "as1");
        var carol = await p.RegisterAsync("carol", "as1");

        for (var i = 0; i < 3; i++)
        {
            await p.EnterOkAsync(alice, "server");
        }

        var refused = await p.EnterRefusedAsync(alice, "server");
        Assert.Equal(ErrorCodes.Unreachable, refused.Error.Code);
        Assert.Equal("as1", refused.Error.At);
        Assert.Contains("too many set-ups for 'alice'", refused.Error.Message, StringComparison.Ordinal);

        await p.EnterOkAsync(carol, "server");
    }

    [Fact]
    public void The_bucket_refills_at_its_rate_up_to_its_burst()
    {
        var admission = new HandOffAdmission(new HandOffAdmissionLimits(PerUserPerSecond: 2, PerUserBurst: 2, PerProxyPerSecond: 1000, PerProxyBurst: 1000));
        var t0 = DateTimeOffset.UnixEpoch;

        Assert.Null(admission.TryStart("alice", "proxy1", t0));
        Assert.Null(admission.TryStart("alice", "proxy1", t0));
        Assert.NotNull(admission.TryStart("alice", "proxy1", t0));
        Assert.Null(admission.TryStart("alice", "proxy1", t0.AddSeconds(0.5))); // one token back after half a second
        Assert.NotNull(admission.TryStart("alice", "proxy1", t0.AddSeconds(0.5)));
        Assert.Null(admission.TryStart("alice", "proxy1", t0.AddHours(1)));
        Assert.Null(admission.TryStart("alice", "proxy1", t0.AddHours(1)));
        Assert.NotNull(admission.TryStart("alice", "proxy1", t0.AddHours(1))); // never more than the burst
    }

    [Fact]
    public async Task When_the_proxy_stops_waiting_the_holds_along_the_chain_are_released_at_once()
    {
        // as3 never answers; the hand-off and hold timeouts are long, so only the release can clear as1, as2 and as4 in time.
        using var p = await TestPlane.StartAsync(output, config: """
                actorvpn.auth-server.handoff-timeout = 120s
                actorvpn.auth-server.hold-timeout = 300s
                """,
            interceptor: Interceptor.Always("as3", PatentStep.Fig7Receive701, StepAction.Hang));
        var alice = await p.RegisterAsync("alice", "as1");
        var steps = p.StepProbe();
        var as1 = await p.RefOf("as1");
        var proxy = p.Kit.CreateTestProbe();

        as1.Tell(new AuthenticateClient("proxy1", alice.CertificateDer, "server", null, SessionId: "proxy1-7"), proxy.Ref);
        steps.FishForMessage<HandOffStepReached>(s => s.AuthServer == "as3" && s.Step == PatentStep.Fig7Receive701, TestPlane.Patience);
        Assert.Equal(1, (await p.StatusAsync("as2")).PendingHandOffs); // certificate 1 is on its way down the chain
        Assert.Equal(1, (await p.StatusAsync("as4")).PendingHandOffs);

        as1.Tell(new ClientAbandoned("proxy1-7"));

        await p.Kit.AwaitAssertAsync(async () =>
        {
            foreach (var server in new[] { "as1", "as2", "as4" })
            {
                var status = await p.StatusAsync(server);
                Assert.Empty(status.Held);
                Assert.Equal(0, status.PendingHandOffs);
            }
        }, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_request_whose_proxy_already_gave_up_is_never_started()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        var steps = p.StepProbe();
        var as1 = await p.RefOf("as1");
        var proxy = p.Kit.CreateTestProbe();

        as1.Tell(new ClientAbandoned("proxy1-9"));
        as1.Tell(new AuthenticateClient("proxy1", alice.CertificateDer, "server", null, SessionId: "proxy1-9"), proxy.Ref);
        // A request of a live connection, sent after: once it is answered, the abandoned one (ahead of it) was handled.
        await p.EnterOkAsync(alice, "server");

        // Its steps, up to the live one's "authenticated": as1 received one request only (the abandoned one never reached Fig. 7, step 701).
        var received = 0;
        steps.FishForMessage<HandOffStepReached>(s =>
        {
            received += s.AuthServer == "as1" && s.Step == PatentStep.Fig7Receive701 ? 1 : 0;
            return s.AuthServer == "as1" && s.Step == PatentStep.Fig8Authenticated811;
        }, TestPlane.Patience);
        Assert.Equal(1, received);
        proxy.ExpectNoMsg(TimeSpan.Zero);
    }
}
