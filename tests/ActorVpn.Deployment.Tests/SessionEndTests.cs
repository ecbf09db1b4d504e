using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.Deployment.Tests;

/// <summary>
/// When a live session must end although nothing failed (【0053】): its maximum lifetime is over. Run against built
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
}
