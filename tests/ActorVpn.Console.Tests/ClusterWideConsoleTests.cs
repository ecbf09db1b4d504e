using System.Diagnostics;
using System.Text.Json;
using ActorVpn.Cluster;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Testing;
using Akka.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>
/// The console of one node answers for the whole cluster: sessions relayed by the proxies of another
/// node are listed (naming that node) and killed from it, and <c>cluster show</c> does not wait for a
/// member it cannot reach.
/// </summary>
public sealed class ClusterWideConsoleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_node_without_proxies_lists_and_kills_the_sessions_relayed_on_another_node()
    {
        // node1 runs every proxy; node2 runs none, only (part of) the auth servers.
        await using var cluster = await ClusterScenario.StartExampleAsync(nodes: 3);
        using var console = await ConsoleHost.StartAsync(new ClusterConsoleNode(cluster.Nodes["node2"]), "127.0.0.1:0");
        await cluster.EnrollAsync("alice");
        await using var session = await cluster.ConnectAsync("alice");
        Assert.True(await session.RoundTripAsync(1024, Generous));

        var node1 = cluster.Nodes["node1"].Cluster.SelfAddress.ToString();
        var listed = await RunAsync(console, "session", "list", "--json");
        var view = Assert.Single(JsonDocument.Parse(listed.Output).RootElement.EnumerateArray());
        Assert.Equal("alice", view.GetProperty("user").GetString());
        Assert.Equal(["proxy1", "proxy2", "proxy3"], view.GetProperty("route").EnumerateArray().Select(r => r.GetString()));
        Assert.All(view.GetProperty("nodes").EnumerateArray(), n => Assert.Equal(node1, n.GetString()));
        var id = view.GetProperty("id").GetString()!;
        Assert.Contains($"on {node1}", (await RunAsync(console, "session", "list")).Output, StringComparison.Ordinal);

        // The auth servers' paths are the cluster's (group singletons), and node2, which hosts group as4, shows them in its tree.
        var paths = JsonDocument.Parse((await RunAsync(console, "auth", "list", "--json")).Output).RootElement.EnumerateArray()
            .ToDictionary(a => a.GetProperty("name").GetString()!, a => a.GetProperty("path").GetString()!);
        Assert.Equal("/user/group-as4/as4/as4/as2", paths["as2"]);
        var tree = JsonDocument.Parse((await RunAsync(console, "actor", "hierarchy", "/user/group-as4", "--json")).Output).RootElement.EnumerateArray()
            .Select(a => a.GetProperty("path").GetString()).ToList();
        Assert.Contains(paths["as2"], tree);
        Assert.Contains("/user/group-<root>", (await RunAsync(console, "actor", "hierarchy", "/user/auth-servers")).Error, StringComparison.Ordinal);

        var kill = await RunAsync(console, "session", "kill", id);
        Assert.True(kill.Exit == ConsoleReply.Ok, kill.Error);
        Assert.True(await session.ClosedByChainAsync(Generous)); // 【0053】: the chain on node1 closed the application's connection
    }

    [Fact]
    public async Task A_signing_key_is_rotated_from_the_console_of_another_node_while_users_keep_connecting()
    {
        // Group as1 runs on node1 with every proxy; the console runs on node2: the phases and the proxies' renewal cross nodes.
        await using var cluster = await ClusterScenario.StartExampleAsync(nodes: 3);
        using var console = await ConsoleHost.StartAsync(new ClusterConsoleNode(cluster.Nodes["node2"]), "127.0.0.1:0");
        await cluster.EnrollAsync("alice"); // before the rotation
        foreach (var phase in new[] { "start", "switch" })
        {
            var reply = await RunAsync(console, "auth", "rotate", "as1", phase);
            Assert.True(reply.Exit == ConsoleReply.Ok, reply.Error);
            await using var session = await cluster.ConnectAsync("alice");
            Assert.True(await session.RoundTripAsync(1024, Generous));
        }

        await cluster.EnrollAsync("bob", "as1"); // after the switch: a certificate of the new key, and both anchors
        var finish = await RunAsync(console, "auth", "rotate", "as1", "finish", "--json");
        Assert.True(finish.Exit == ConsoleReply.Ok, finish.Error);
        Assert.Equal(["proxy1"], JsonDocument.Parse(finish.Output).RootElement.GetProperty("proxiesRenewed").EnumerateArray().Select(p => p.GetString()));
        await using (var session = await cluster.ConnectAsync("bob"))
        {
            Assert.True(await session.RoundTripAsync(1024, Generous));
        }

        var status = JsonDocument.Parse((await RunAsync(console, "auth", "rotate", "as1", "status", "--json")).Output).RootElement.GetProperty("status");
        Assert.Equal("standby", status.GetProperty("phase").GetString());
        Assert.Single(status.GetProperty("retiredAnchorsSha256").EnumerateArray());
    }

    [Fact]
    public async Task Route_trace_on_a_node_lists_the_steps_of_every_auth_server_wherever_its_group_runs()
    {
        // node1 runs only as1's group; as4's group (as4 with as2 and as3) runs on another node, so their steps are never
        // published on node1: they come back on the reply path with the route (Fig. 9, step 910).
        await using var cluster = await ClusterScenario.StartExampleAsync(nodes: 3);
        Assert.Equal("node1", await cluster.NodeOfAsync("as1"));
        Assert.NotEqual("node1", await cluster.NodeOfAsync("as4"));
        using var console = await ConsoleHost.StartAsync(new ClusterConsoleNode(cluster.Nodes["node1"]), "127.0.0.1:0");
        await cluster.EnrollAsync("alice");

        var reply = await RunAsync(console, "route", "trace", "alice", "server", "--json");
        Assert.True(reply.Exit == ConsoleReply.Ok, reply.Error);
        var trace = JsonDocument.Parse(reply.Output).RootElement;
        Assert.Equal(["as1", "as2", "as4", "as3"], trace.GetProperty("handoff").EnumerateArray().Select(e => e.GetString()));
        var steps = trace.GetProperty("steps").EnumerateArray()
            .Select(s => (Server: s.GetProperty("server").GetString()!, Step: s.GetProperty("step").GetString()!)).ToList();

        // In hand-off order: each server as the certificate reaches it (Fig. 7, step 701), the route growing on the way
        // back from as3 (Fig. 9, step 910), and as1 answering last (Fig. 8, step 811).
        Assert.Equal(["as1", "as2", "as4", "as3"], steps.Where(s => s.Step == "Fig. 7, step 701").Select(s => s.Server));
        Assert.Equal(["as2", "as4", "as3"], steps.Where(s => s.Step == "Fig. 9, step 901").Select(s => s.Server));
        Assert.Equal(["as3", "as4", "as2"], steps.Where(s => s.Step == "Fig. 9, step 910").Select(s => s.Server));
        Assert.Equal(("as1", "Fig. 8, step 811"), steps[^1]);
        Assert.True(steps.IndexOf(("as3", "Fig. 9, step 910")) < steps.IndexOf(("as1", "Fig. 8, step 809")), reply.Output);

        var text = await RunAsync(console, "route", "trace", "alice", "server");
        Assert.Contains("as3      Fig. 9, step 910", text.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cluster_show_answers_during_a_partition_naming_the_unreachable_host_of_a_group()
    {
        // The split-brain resolver waits long here, so the crashed member stays unreachable (not downed) while we look.
        const string Patient = """
            akka.cluster.split-brain-resolver.stable-after = 120s
            akka.coordinated-shutdown.run-by-actor-system-terminate = off
            """;
        var topology = ClusterConsoleTests.Topology();
        var nodes = new List<ClusterNode>();
        try
        {
            var node1 = await ClusterConsoleTests.StartNodeAsync(topology, "as1", seed: null, Patient);
            nodes.Add(node1);
            var seed = node1.Cluster.SelfAddress.ToString();
            nodes.Add(await ClusterConsoleTests.StartNodeAsync(topology, "as4", seed, Patient));
            await AwaitAsync(node1, () => Assert.Equal(2, node1.Cluster.State.Members.Count(m => m.Status == MemberStatus.Up)));
            nodes.Add(await ClusterConsoleTests.StartNodeAsync(topology, "as4", seed, Patient));
            await AwaitAsync(node1, () => Assert.Equal(3, node1.Cluster.State.Members.Count(m => m.Status == MemberStatus.Up)));
            using var console = await ConsoleHost.StartAsync(new ClusterConsoleNode(node1), "127.0.0.1:0");
            var node2 = nodes[1].Cluster.SelfAddress;
            await AwaitAsync(node1, async () => Assert.Equal(node2.ToString(), Groups(await RunAsync(console, "cluster", "show", "--json"))["as4"].GetProperty("node").GetString()));

            await nodes[1].System.Terminate(); // a crash: no leave, so as4's host becomes unreachable and stays a member
            await AwaitAsync(node1, () => Assert.Contains(node1.Cluster.State.Unreachable, m => m.Address.Equals(node2)));

            var clock = Stopwatch.StartNew();
            var shown = await RunAsync(console, "cluster", "show", "--json");
            output.WriteLine($"cluster show with as4's host unreachable answered in {clock.ElapsedMilliseconds} ms");
            var as4 = Groups(shown)["as4"];
            Assert.Equal(node2.ToString(), as4.GetProperty("node").GetString());
            Assert.False(as4.GetProperty("reachable").GetBoolean());
            Assert.True(Groups(shown)["as1"].GetProperty("reachable").GetBoolean());
            Assert.Contains("(UNREACHABLE: last known host)", (await RunAsync(console, "cluster", "show")).Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var node in nodes.AsEnumerable().Reverse())
            {
                await node.DisposeAsync(); // one after another: stopping several at once times out their cluster-exiting phase
            }
        }
    }

    private static Dictionary<string, JsonElement> Groups(ConsoleReply reply) =>
        JsonDocument.Parse(reply.Output).RootElement.GetProperty("groups").EnumerateArray().ToDictionary(g => g.GetProperty("group").GetString()!, g => g);

    private static async Task<ConsoleReply> RunAsync(ConsoleHost console, params string[] words)
    {
        await using var client = await ConsoleClient.ConnectAsync(console.Credential, Generous);
        return await client.RunAsync(words);
    }

    /// <summary>TestKit's AwaitAssert (retries until it passes) with a generous deadline; no sleeps.</summary>
    private static Task AwaitAsync(ClusterNode node, Action assertion) => AwaitAsync(node, () =>
    {
        assertion();
        return Task.CompletedTask;
    });

    private static async Task AwaitAsync(ClusterNode node, Func<Task> assertion)
    {
        var kit = new Akka.TestKit.Xunit2.TestKit(node.System);
        await kit.AwaitAssertAsync(assertion, Generous, TimeSpan.FromMilliseconds(200));
    }
}
