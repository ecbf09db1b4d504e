using ActorVpn.Protocol;
using ActorVpn.Testing;
using Xunit;

namespace ActorVpn.Chaos.Tests;

/// <summary>
/// Failure scenarios on a real 3-node cluster (<see cref="ClusterScenario"/>): the patent's example
/// with as1 on node1 and as4's group (as2, as3) on node2, fail-over node3; a shared durable store
/// (the real PostgreSQL of scripts/test.sh when AVPN_TEST_POSTGRES is set, else a SQLite file).
/// Each ends with the invariants.
/// </summary>
public sealed class ClusterScenarioTests
{
    [Fact]
    public async Task Node_loss_mid_hand_off_fails_that_session_and_the_group_fails_over_with_its_state()
    {
        await using var cluster = await ClusterScenario.StartExampleAsync(nodes: 3, await StoreAsync());
        await cluster.EnrollAsync("alice");
        Assert.Equal("node2", await cluster.NodeOfAsync("as4"));
        var killed = cluster.KillNodeAt("as4", PatentStep.Fig9LookUp902);   // the upper server dies while as2 waits

        await using (var failing = await cluster.ConnectAsync("alice"))
            Assert.True(await failing.ClosedByChainAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("node2", await killed);

        await using (var next = await cluster.ConnectAsync("alice"))
            Assert.True(await next.RoundTripAsync(64 * 1024, TimeSpan.FromSeconds(60)));   // same user, recovered keys and credentials
        Assert.Equal("node3", await cluster.NodeOfAsync("as4"));

        await cluster.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Partition_cutting_off_the_node_of_a_group_downs_it_and_sessions_work_again()
    {
        await using var cluster = await ClusterScenario.StartExampleAsync(nodes: 3, await StoreAsync());
        await cluster.EnrollAsync("alice");
        await cluster.Partition("node2", "node1");                          // node2 (as4's group) cut off from both others:
        await cluster.Partition("node2", "node3");                          // the majority {node1, node3} stays

        await using (var next = await EventuallyConnectedAsync(cluster))
            Assert.True(await next.RoundTripAsync(64 * 1024, TimeSpan.FromSeconds(60)));
        Assert.Equal("node3", await cluster.NodeOfAsync("as4"));             // keep-majority downed node2; as4 moved

        await cluster.AssertInvariantsAsync();
    }

    [Fact]
    public async Task Throttled_link_between_two_nodes_still_carries_the_hand_off_and_the_session()
    {
        await using var cluster = await ClusterScenario.StartExampleAsync(nodes: 3, await StoreAsync());
        await cluster.EnrollAsync("alice");
        Assert.Equal("node2", await cluster.NodeOfAsync("as4"));
        // as1 (node1) hands certificate 1 to as2 (node2) over this link (Fig. 8 step 808). 16 KB/s binds: a session took
        // about 3x longer to open when measured (not asserted), and at 2 KB/s it failed; the cluster's heartbeats share it.
        await cluster.Throttle("node1", "node2", bytesPerSecond: 16 * 1024);

        await using (var session = await cluster.ConnectAsync("alice"))
            Assert.True(await session.RoundTripAsync(64 * 1024, TimeSpan.FromSeconds(60)));
        Assert.Equal("node2", await cluster.NodeOfAsync("as4"));             // slowed, not taken for a partition: nothing moved

        await cluster.AssertInvariantsAsync();
    }

    [SkippableFact]
    public async Task Store_outage_fails_closed_and_the_groups_recover_when_it_is_back()
    {
        Skip.If(ScenarioStores.TestServer is null, "no PostgreSQL: AVPN_TEST_POSTGRES is not set (scripts/test.sh starts a private server)");
        await using var cluster = await ClusterScenario.StartExampleAsync(nodes: 3, await StoreAsync());
        await cluster.EnrollAsync("alice");

        await using (await cluster.StoreOutageAsync())
            await Assert.ThrowsAnyAsync<Exception>(() => cluster.EnrollAsync("bob", "as1"));   // not confirmed: refused, as1 stops (fail closed)

        await cluster.AwaitRunningAsync("as1");                             // re-created with back-off, recovered from the store
        await cluster.EnrollAsync("bob", "as1");
        await using (var session = await cluster.ConnectAsync("alice"))
            Assert.True(await session.RoundTripAsync(64 * 1024, TimeSpan.FromSeconds(60)));
        await using (var session = await cluster.ConnectAsync("bob"))
            Assert.True(await session.RoundTripAsync(64 * 1024, TimeSpan.FromSeconds(60)));

        await cluster.AssertInvariantsAsync();
    }

    /// <summary>Sessions opened while the cluster resolves the fault may fail (and must close); the first that works is returned.</summary>
    private static async Task<ScenarioSession> EventuallyConnectedAsync(ClusterScenario cluster)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var session = await cluster.ConnectAsync("alice");
            try
            {
                if (await session.RoundTripAsync(16, TimeSpan.FromSeconds(30)))
                {
                    return session;
                }
            }
            catch (Exception e) when ((e is IOException or OperationCanceledException or System.Net.Sockets.SocketException) && DateTime.UtcNow < deadline)
            {
            }

            await session.DisposeAsync();
            Assert.True(DateTime.UtcNow < deadline, "no session worked within 90 s of the fault");
        }
    }

    private static async Task<ClusterScenarioOptions> StoreAsync() => new() { Postgres = await ScenarioStores.PostgresDatabaseAsync() };
}
