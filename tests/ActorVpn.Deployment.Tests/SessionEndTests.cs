using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using ActorVpn.Proxies;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.Deployment.Tests;

/// <summary>
/// When a live session must end although nothing failed (【0053】): its maximum lifetime is over, or its
/// user is revoked while the auth servers are still handing its certificate on. Run against built
/// <c>avpn node</c> processes on one PostgreSQL, as <see cref="DeploymentTests"/> does.
/// </summary>
public sealed class SessionEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(3);

    [SkippableFact]
    public async Task A_session_is_closed_when_its_maximum_lifetime_is_over_and_the_client_authenticates_again()
    {
        // One node hosting everything: the lifetime is the proxies' own timer, the cluster shape does not matter.
        await using var cluster = await DeployedCluster.StartAsync(
            [new("node1", ["as1", "as4"], ["proxy1", "proxy2", "proxy3"])],
            DeployedCluster.TunedTimings + $"\nactorvpn.data-plane.max-session-lifetime = {Lifetime.TotalSeconds:0}s\n");
        try
        {
            var alice = await cluster.TopologyProfileAsync("node1", "alice");
            var clock = Stopwatch.StartNew();
            using var live = await cluster.OpenAsync(alice);
            Assert.True(await DeployedCluster.EchoesAsync(live, DeployedCluster.Generous), "alice's session carried no data");
            var served = clock.Elapsed;

            // Nobody closes it: the proxies do, once the lifetime is over.
            await DeployedCluster.AwaitClosedAsync(live, DeployedCluster.Generous);
            var closed = clock.Elapsed;
            output.WriteLine($"max-session-lifetime {Lifetime.TotalSeconds:0} s: session carried data at {served.TotalSeconds:0.0} s, closed by the proxies at {closed.TotalSeconds:0.0} s after it was opened");
            Assert.True(closed >= Lifetime, $"the session was closed {closed.TotalSeconds:0.0} s after it was opened, before its lifetime of {Lifetime.TotalSeconds:0} s");

            // The limit ends a session, not the user: authenticating again opens a new one.
            Assert.True(await cluster.NewSessionWorksAsync(alice, DeployedCluster.Generous), "alice could not authenticate again after her session's lifetime ended");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n{cluster.Diagnostics()}", e);
        }
    }

    [SkippableFact]
    public async Task Revoking_a_user_whose_session_is_still_authenticating_closes_it_and_refuses_the_user_afterwards()
    {
        // node1: alice's home server as1 and the console, no proxies; node2: group as4 alone (as2, as3, as4),
        // so pausing it holds alice's hand-off as1 -> as2 (【0023】) with no other node to take the group;
        // node3: every proxy. The hand-off, the handshake and the failure detector wait far longer than
        // the test pauses node2, so only the revocation can end the session.
        await using var cluster = await DeployedCluster.StartAsync(
            [new("node1", ["as1"], []), new("node2", ["as4"], []), new("node3", [], ["proxy1", "proxy2", "proxy3"])],
            DeployedCluster.TunedTimings + """

                akka.cluster.failure-detector.acceptable-heartbeat-pause = 60s
                actorvpn.auth-server.handoff-timeout = 60s
                actorvpn.data-plane.handshake-timeout = 120s
                """);
        try
        {
            var alice = await cluster.TopologyProfileAsync("node3", "alice");
            Assert.True(await cluster.NewSessionWorksAsync(alice, DeployedCluster.Generous), "alice's first session carried no data");

            cluster.Node("node2").Pause();
            Socket? live = null;
            try
            {
                // The client waits for its authentication as long as the hand-off may take, so only the revocation can end it.
                live = await cluster.OpenAsync(alice, DataPlaneSettings.Default with { HandshakeTimeout = TimeSpan.FromSeconds(120), AuthTimeout = TimeSpan.FromSeconds(120) });
                var echo = DeployedCluster.EchoesAsync(live, DeployedCluster.Generous); // must never come back: the session is not authenticated yet
                await Eventually.TrueAsync(() => AuthenticatingAtProxy1Async(cluster, "alice"), DeployedCluster.Generous, "alice's session never waited at proxy1 for its auth server");

                var clock = Stopwatch.StartNew();
                await cluster.RunAsync("node1", "user", "revoke", "alice");
                var acknowledged = clock.Elapsed;
                await DeployedCluster.AwaitClosedAsync(live, TimeSpan.FromSeconds(5)); // every other timeout of this session is a minute or more
                var closed = clock.Elapsed;
                Assert.False(await echo, "the revoked user's session carried data");
                output.WriteLine($"revocation of a session still authenticating (console on node1, proxy1 on node3): command acknowledged after {acknowledged.TotalMilliseconds:0} ms, session closed {(closed - acknowledged).TotalMilliseconds:0} ms later");
            }
            finally
            {
                cluster.Node("node2").Resume();
                live?.Dispose();
            }

            // Refused afterwards (Fig. 7, step 702), while a user that was not revoked is served.
            Assert.False(await cluster.NewSessionWorksAsync(alice, TimeSpan.FromSeconds(20)), "a revoked user opened a new session");
            var bob = await cluster.AddUserAsync("node3", "bob");
            Assert.True(await cluster.NewSessionWorksAsync(bob, DeployedCluster.Generous), "the cluster did not serve a user who was not revoked");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n{cluster.Diagnostics()}", e);
        }
    }

    /// <summary>True once proxy1 holds a connection of <paramref name="user"/> that waits for its auth server's answer.</summary>
    private static async Task<bool> AuthenticatingAtProxy1Async(DeployedCluster cluster, string user)
    {
        var reply = await cluster.RunAsync("node3", "proxy", "show", "proxy1", "--json");
        return JsonDocument.Parse(reply.Output).RootElement.GetProperty("sessions").EnumerateArray()
            .Any(s => s.GetProperty("user").GetString() == user && s.GetProperty("stage").GetString() == "asking auth server");
    }
}
