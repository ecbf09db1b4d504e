using System.Diagnostics;
using ActorVpn.Cluster;
using ActorVpn.OperatorConsole;
using ActorVpn.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.Deployment.Tests;

/// <summary>
/// The cluster as it ships: separate <c>avpn node</c> processes on one shared PostgreSQL, started
/// and stopped the way a supervisor does, checked through their consoles and a real client.
/// Placement: node1 hosts no proxies (the console an operator would use on an auth pod), node2
/// hosts proxy1 (alice's entry), node3 proxy2 and proxy3; every node may host both groups, so the
/// oldest (node1, the first seed) runs them and the next oldest takes over.
/// </summary>
public sealed class DeploymentTests(ITestOutputHelper output)
{
    private static readonly string[] BothGroups = ["as1", "as4"];

    private static readonly NodePlan[] Spread =
    [
        new("node1", BothGroups, []),
        new("node2", BothGroups, ["proxy1"]),
        new("node3", BothGroups, ["proxy2", "proxy3"]),
    ];

    [SkippableFact]
    public async Task A_fresh_cluster_serves_its_topology_users_across_processes_and_a_revocation_on_a_proxyless_node_closes_live_sessions_everywhere()
    {
        await using var cluster = await DeployedCluster.StartAsync(Spread);
        try
        {
            // No console has been opened: node1, which runs alice's home group (as1) and no proxy, registered
            // her and wrote her profile naming proxy1 (on node2) at the address it enrolled with; the credential
            // keeper handed out the inter-server credentials the hand-off as1 -> as2 -> as4 -> as3 needs.
            var alice = await cluster.TopologyProfileAsync("node1", "alice");
            Assert.Equal($"127.0.0.1:{cluster.ProxyPort("proxy1")}", alice.Entries["server"].Address);
            // The nodes start in any order, so the first attempts may come before every proxy has its identity.
            await Eventually.TrueAsync(() => cluster.NewSessionWorksAsync(alice, TimeSpan.FromSeconds(10)), DeployedCluster.Generous, "alice never connected through the fresh cluster");
            using var live = await cluster.OpenAsync(alice);
            Assert.True(await DeployedCluster.EchoesAsync(live, DeployedCluster.Generous), "alice's session through proxy1 (node2), proxy2 and proxy3 (node3) carried no data");

            // `user revoke` on node1, which has no proxies: the live session on node2's and node3's proxies closes.
            await using var console = await cluster.ConsoleOfAsync("node1");
            var clock = Stopwatch.StartNew();
            var reply = await console.RunAsync(["user", "revoke", "alice"]);
            Assert.True(reply.Exit == ConsoleReply.Ok, reply.Error);
            var acknowledged = clock.Elapsed;
            await DeployedCluster.AwaitClosedAsync(live, TimeSpan.FromSeconds(10));
            var closed = clock.Elapsed;
            output.WriteLine($"revocation across nodes: command acknowledged after {acknowledged.TotalMilliseconds:0} ms, live session closed {(closed - acknowledged).TotalMilliseconds:0} ms later");
            Assert.True(closed - acknowledged < TimeSpan.FromSeconds(1), $"the live session closed {(closed - acknowledged).TotalMilliseconds:0} ms after the revocation, not within 1 s");

            Assert.False(await cluster.NewSessionWorksAsync(alice, DeployedCluster.Generous), "a revoked user opened a new session");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n{cluster.Diagnostics()}", e);
        }
    }

    [SkippableFact]
    public async Task Kill_9_of_the_groups_node_fails_over_with_state_intact_sigterm_hands_over_with_exit_0_and_restarted_nodes_recover_from_the_store()
    {
        await using var cluster = await DeployedCluster.StartAsync(Spread);
        try
        {
            var alice = await cluster.TopologyProfileAsync("node1", "alice");
            Assert.True(await cluster.NewSessionWorksAsync(alice, DeployedCluster.Generous));
            var bob = await cluster.AddUserAsync("node2", "bob");
            Assert.True(await cluster.NewSessionWorksAsync(bob, DeployedCluster.Generous));
            await cluster.RunAsync("node2", "user", "revoke", "bob");

            // kill -9 of node1, which runs both groups (the oldest node with their roles).
            var clock = Stopwatch.StartNew();
            cluster.Node("node1").Crash();
            await Eventually.TrueAsync(() => cluster.NewSessionWorksAsync(alice, TimeSpan.FromSeconds(10)), DeployedCluster.Generous, "no new session after node1 crashed");
            output.WriteLine($"failover after kill -9 of the groups' node (tuned timings): a new session works {clock.Elapsed.TotalSeconds:0.0} s after the crash");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"failover took {clock.Elapsed.TotalSeconds:0.0} s");

            // Users, keys and revocations came back from the store; a user added now connects too.
            Assert.False(await cluster.NewSessionWorksAsync(bob, TimeSpan.FromSeconds(20)), "bob's revocation was lost in the failover");
            var carol = await cluster.AddUserAsync("node2", "carol");
            Assert.True(await cluster.NewSessionWorksAsync(carol, DeployedCluster.Generous), "a user added after the failover cannot connect");

            // SIGTERM of node2 (now running the groups, and alice's entry proxy) while alice's session is
            // open: it drains until the client ends the session, leaves, hands the groups to node3, exits 0.
            using (var draining = await cluster.OpenAsync(alice))
            {
                Assert.True(await DeployedCluster.EchoesAsync(draining, DeployedCluster.Generous));
                cluster.Node("node2").Terminate();
                Assert.True(await DeployedCluster.EchoesAsync(draining, TimeSpan.FromSeconds(10)), "the session was cut instead of drained");
            }

            Assert.Equal(NodeExitCodes.Left, await cluster.Node("node2").WaitForExitAsync(DeployedCluster.Generous));
            Assert.Contains("leaving the cluster", cluster.Node("node2").Stdout, StringComparison.Ordinal);

            // Both stopped nodes start again on the same store and join node3, which runs the groups now.
            cluster.Launch("node1");
            cluster.Launch("node2");
            await Task.WhenAll(cluster.AwaitReadyAsync("node1"), cluster.AwaitReadyAsync("node2"));
            await Eventually.TrueAsync(() => cluster.NewSessionWorksAsync(alice, TimeSpan.FromSeconds(10)), DeployedCluster.Generous, "alice cannot connect after the restarts");
            Assert.True(await cluster.NewSessionWorksAsync(carol, DeployedCluster.Generous), "carol was lost");
            Assert.False(await cluster.NewSessionWorksAsync(bob, TimeSpan.FromSeconds(20)), "bob's revocation was lost");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n{cluster.Diagnostics()}", e);
        }
    }

    [SkippableFact]
    public async Task A_node_the_cluster_downs_exits_with_the_downed_code_not_as_a_graceful_leave()
    {
        await using var cluster = await DeployedCluster.StartAsync(
        [
            new("node1", BothGroups, []),
            new("node2", BothGroups, []),
            new("node3", [], []),
        ]);
        try
        {
            // An operator (or the split-brain resolver: the same cluster Down) downs node3 from node1's console.
            await cluster.RunAsync("node1", "cluster", "down", cluster.AddressOf("node3"));
            Assert.Equal(NodeExitCodes.Downed, await cluster.Node("node3").WaitForExitAsync(DeployedCluster.Generous));
            Assert.DoesNotContain("leaving the cluster", cluster.Node("node3").Stdout, StringComparison.Ordinal);
            Assert.Contains("downed by the cluster", cluster.Node("node3").Stderr, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n{cluster.Diagnostics()}", e);
        }
    }

    [Fact]
    public async Task A_node_whose_store_never_answers_one_that_cannot_bind_and_one_no_seed_answers_exit_with_their_own_codes()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"avpn-exit-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var config = Path.Combine(dir, "node.hocon");
            var port = FreePorts.Take();
            await File.WriteAllTextAsync(config, $$"""
                akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
                akka.cluster.seed-nodes = ["akka.tcp://actorvpn@127.0.0.1:{{port}}"]
                actorvpn.node { groups = [as1, as4], health.port = 0, store-wait = 2s }
                """);
            var environment = new Dictionary<string, string>
            {
                ["AVPN_POSTGRES"] = $"Host=127.0.0.1;Port={FreePorts.Take()};Database=actorvpn;Username=postgres;Timeout=1",
                ["AVPN_KEY_SECRET"] = "s",
            };
            using (var noStore = AvpnProcess.Start(["node", "--config", config, "--data", Path.Combine(dir, "a"), "--console", "off"], environment))
            {
                Assert.Equal(NodeExitCodes.StoreUnrecoverable, await noStore.WaitForExitAsync(DeployedCluster.Generous));
                Assert.Contains("store unrecoverable", noStore.Stderr, StringComparison.Ordinal);
            }

            // The remote port is taken: the node cannot start (in memory, no store to wait for).
            using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            taken.Start();
            using var noPort = AvpnProcess.Start(["node", "--config", config, "--data", Path.Combine(dir, "b"), "--console", "off"]);
            Assert.Equal(NodeExitCodes.FailedStart, await noPort.WaitForExitAsync(DeployedCluster.Generous));

            // No seed node ever answers (a seed list without this node, none of them running): the node gives up
            // after shutdown-after-unsuccessful-join-seed-nodes and exits for its supervisor to restart it.
            var lonely = Path.Combine(dir, "lonely.hocon");
            await File.WriteAllTextAsync(lonely, $$"""
                akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{FreePorts.Take()}} }
                akka.cluster.seed-nodes = ["akka.tcp://actorvpn@127.0.0.1:{{FreePorts.Take()}}"]
                akka.cluster.shutdown-after-unsuccessful-join-seed-nodes = 3s
                actorvpn.node { groups = [as1, as4], health.port = 0 }
                """);
            using var noSeed = AvpnProcess.Start(["node", "--config", lonely, "--data", Path.Combine(dir, "c"), "--console", "off"],
                new Dictionary<string, string> { ["AVPN_KEY_SECRET"] = "s" });
            Assert.Equal(NodeExitCodes.FailedStart, await noSeed.WaitForExitAsync(DeployedCluster.Generous));
            Assert.Contains("stopped before joining the cluster", noSeed.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
