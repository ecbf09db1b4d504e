using System.Collections.Concurrent;
using System.Text.Json;
using ActorVpn.Cluster;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Testing;
using ActorVpn.Topology;
using Akka.Cluster;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>
/// The <c>cluster</c> palette against a real three-node Akka.Cluster in this process (loopback,
/// tuned timings as in ActorVpn.Cluster.Tests): node1 hosts group as1, node2 and node3 may host
/// group as4 (node2, the older, runs it). The console runs on node1.
/// </summary>
public sealed class ClusterConsoleTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private readonly List<ClusterNode> _nodes = [];
    private ConsoleHost? _console;
    private Akka.TestKit.Xunit2.TestKit? _kit;

    private ClusterNode Node1 => _nodes[0];

    public async Task InitializeAsync()
    {
        var topology = Topology();
        var node1 = await StartNodeAsync(topology, "as1", seed: null);
        var seed = node1.Cluster.SelfAddress.ToString();
        await StartNodeAsync(topology, "as4", seed);
        await AwaitAsync(() => Assert.Equal(2, node1.Cluster.State.Members.Count(m => m.Status == MemberStatus.Up)));
        await StartNodeAsync(topology, "as4", seed);
        await AwaitAsync(() => Assert.Equal(3, node1.Cluster.State.Members.Count(m => m.Status == MemberStatus.Up)));
        _console = await ConsoleHost.StartAsync(new ClusterConsoleNode(node1), "127.0.0.1:0");
    }

    public async Task DisposeAsync()
    {
        _console?.Dispose();
        foreach (var node in _nodes.AsEnumerable().Reverse())
        {
            await node.DisposeAsync(); // one after another (toolchain.md)
        }
    }

    [Fact]
    public async Task Cluster_show_lists_members_roles_leader_and_the_node_hosting_each_group()
    {
        var (node1, node2) = (Address(0), Address(1));
        await AwaitAsync(async () =>
        {
            var json = JsonDocument.Parse((await RunAsync("cluster", "show", "--json")).Output).RootElement;
            Assert.True(json.GetProperty("cluster").GetBoolean());
            var members = json.GetProperty("members").EnumerateArray().ToList();
            Assert.Equal(3, members.Count);
            Assert.All(members, m => Assert.Equal("up", m.GetProperty("status").GetString()));
            Assert.All(members, m => Assert.True(m.GetProperty("reachable").GetBoolean()));
            Assert.Single(members, m => m.GetProperty("leader").GetBoolean());
            var self = Assert.Single(members, m => m.GetProperty("self").GetBoolean());
            Assert.Equal(node1, self.GetProperty("address").GetString());
            Assert.Contains("group-as1", self.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));

            var groups = json.GetProperty("groups").EnumerateArray().ToDictionary(g => g.GetProperty("group").GetString()!, g => g.GetProperty("node").GetString());
            Assert.Equal(node1, groups["as1"]);
            Assert.Equal(node2, groups["as4"]); // the oldest node with role group-as4
        });

        var text = (await RunAsync("cluster", "show")).Output;
        Assert.Contains("cluster of 3 member(s)", text, StringComparison.Ordinal);
        Assert.Contains($"as4      hosted on {node2}", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("leave", "nonsense", "is not a member address")]
    [InlineData("down", "", "takes 1 argument")]
    public async Task Leave_and_down_refuse_what_is_not_a_member_address(string verb, string address, string problem)
    {
        var reply = await RunAsync(address.Length == 0 ? ["cluster", verb] : ["cluster", verb, address]);
        Assert.Equal(ConsoleReply.Usage, reply.Exit);
        Assert.Contains(problem, reply.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leave_and_down_name_an_unknown_member_clearly()
    {
        var reply = await RunAsync("cluster", "down", "akka.tcp://actorvpn@127.0.0.1:1");
        Assert.Equal(ConsoleReply.Failed, reply.Exit);
        Assert.StartsWith("no member akka.tcp://actorvpn@127.0.0.1:1 in the cluster (members: ", reply.Error, StringComparison.Ordinal);
        Assert.Equal(3, Node1.Cluster.State.Members.Count);
    }

    [Fact]
    public async Task Tail_streams_a_graceful_leave_the_group_hand_over_and_a_down_then_stops_on_request()
    {
        var (node2, node3) = (Address(1), Address(2));
        await using var watcher = await ConnectAsync();
        var lines = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var tail = watcher.StreamAsync(["cluster", "tail"], part =>
        {
            lines.Enqueue(part.Output);
            return Task.CompletedTask;
        }, stop.Token);

        await AwaitAsync(() => Assert.Contains(lines, l => l.Contains($"group as4 hosted on {node2}", StringComparison.Ordinal)));

        // HOST:PORT is enough to name a member.
        var hostPort = node2[(node2.LastIndexOf('@') + 1)..];
        var leave = await RunAsync("cluster", "leave", hostPort);
        Assert.True(leave.Exit == ConsoleReply.Ok, leave.Error);
        await AwaitAsync(() =>
        {
            Assert.True(lines.Any(l => l.Contains($"group as4 now hosted on {node3} (was {node2})", StringComparison.Ordinal)), string.Concat(lines));
            Assert.Contains(lines, l => l.Contains($"member-left      {node2}", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains($"member-removed   {node2}", StringComparison.Ordinal));
        });

        var down = await RunAsync("cluster", "down", node3, "--json");
        Assert.True(down.Exit == ConsoleReply.Ok, down.Error);
        Assert.Equal("down", JsonDocument.Parse(down.Output).RootElement.GetProperty("action").GetString());
        await AwaitAsync(() =>
        {
            Assert.Contains(lines, l => l.Contains($"member-downed    {node3}", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains($"member-removed   {node3}", StringComparison.Ordinal));
        });
        Assert.False(tail.IsCompleted);

        stop.Cancel();
        var end = await tail.WaitAsync(Generous);
        Assert.Equal(ConsoleReply.Ok, end.Exit);
        Assert.Contains("tail ended: stopped by the operator", end.Output, StringComparison.Ordinal);

        // The connection goes on serving commands after the stream.
        Assert.Equal(ConsoleReply.Ok, (await watcher.RunAsync(["cluster", "show"])).Exit);
    }

    [Fact]
    public async Task One_shot_tail_ends_after_count_events_or_after_its_duration()
    {
        var counted = await RunAsync("cluster", "tail", "--count", "1");
        Assert.Equal(ConsoleReply.Ok, counted.Exit);
        Assert.Contains("tail ended: --count 1 reached (1 event(s))", counted.Output, StringComparison.Ordinal);

        var timed = await RunAsync("cluster", "tail", "--for", "300ms", "--json");
        Assert.Equal(ConsoleReply.Ok, timed.Exit);
        var events = timed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("watching", events[0].GetProperty("event").GetString());
        Assert.Equal("ended", events[^1].GetProperty("event").GetString());
        Assert.StartsWith("--for", events[^1].GetProperty("reason").GetString(), StringComparison.Ordinal);

        var bad = await RunAsync("cluster", "tail", "--for", "soon");
        Assert.Equal(ConsoleReply.Usage, bad.Exit);
        Assert.Contains("--for takes a duration", bad.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task At_the_prompt_Ctrl_C_stops_a_tail_and_the_shell_goes_on()
    {
        var keys = new Queue<ConsoleKeyInfo>();
        Keys.Type(keys, "cluster tail");
        Keys.Press(keys, ConsoleKey.Enter);
        Keys.Type(keys, "cluster show");
        Keys.Press(keys, ConsoleKey.Enter);
        Keys.Type(keys, "exit");
        Keys.Press(keys, ConsoleKey.Enter);

        Action? interrupt = null;
        var output = new InterruptingWriter("watching the cluster", () => interrupt?.Invoke()); // Ctrl-C once the stream runs
        var io = new ShellIo(() => keys.Dequeue(), () => null, output, TextWriter.Null, onInterrupt =>
        {
            interrupt = onInterrupt;
            return new Unregister(() => interrupt = null);
        });
        await using var client = await ConnectAsync();
        Assert.Equal(0, await ConsoleShell.InteractiveAsync(client, _console!.Address, io).WaitAsync(Generous));

        var text = output.ToString();
        Assert.Contains("tail ended: stopped by the operator", text, StringComparison.Ordinal);
        Assert.Contains("cluster of 3 member(s)", text, StringComparison.Ordinal); // the prompt went on after Ctrl-C
        Assert.Null(interrupt); // Ctrl-C is the stream's only while it runs
    }

    [Fact]
    public void One_shot_tail_without_a_bound_is_a_usage_error_at_the_client()
    {
        Assert.Contains("needs a bound", ConsoleShell.OneShotProblem(["cluster", "tail"]), StringComparison.Ordinal);
        Assert.Null(ConsoleShell.OneShotProblem(["cluster", "tail", "--count", "3"]));
        Assert.Null(ConsoleShell.OneShotProblem(["cluster", "show"]));
    }

    private string Address(int node) => _nodes[node].Cluster.SelfAddress.ToString();

    private Task<ConsoleClient> ConnectAsync() => ConsoleClient.ConnectAsync(_console!.Credential, Generous);

    private async Task<ConsoleReply> RunAsync(params string[] words)
    {
        await using var client = await ConnectAsync();
        return await client.RunAsync(words);
    }

    internal static TopologyModel Topology()
    {
        var topology = TopologyLoader.LoadText(ExampleTopology.Text, "cluster console test topology");
        return new TopologyModel(topology.Source, topology.Destinations, topology.AuthServers,
            topology.Proxies.Select(p => p with { Listen = new HostPort("127.0.0.1", 0) }).ToList(), topology.Users);
    }

    private async Task<ClusterNode> StartNodeAsync(TopologyModel topology, string group, string? seed)
    {
        var node = await StartNodeAsync(topology, group, seed, extraConfig: string.Empty);
        _nodes.Add(node);
        return node;
    }

    /// <summary>One in-process node with tuned timings hosting <paramref name="group"/> and no proxies; the first (no seed) joins itself.</summary>
    internal static async Task<ClusterNode> StartNodeAsync(TopologyModel topology, string group, string? seed, string extraConfig)
    {
        var overrides = ConfigurationFactory.ParseString($$"""
            {{ClusterScenario.FastClusterTimings}}
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.cluster.seed-nodes = [{{(seed is null ? string.Empty : $"\"{seed}\"")}}]
            actorvpn.node { groups = [{{group}}], proxies = [], health.port = 0, drain-period = 1s }
            actorvpn.console.tail-probe-interval = 200ms
            {{extraConfig}}
            """);
        var node = await ClusterNode.StartAsync(ClusterNode.LoadConfig(overrides: overrides, environment: _ => null), topology, environment: _ => null);
        if (seed is null)
        {
            node.Cluster.Join(node.Cluster.SelfAddress);
        }

        return node;
    }

    /// <summary>TestKit's AwaitAssert (retries until it passes) with a generous deadline; no sleeps.</summary>
    private Task AwaitAsync(Action assertion) => AwaitAsync(() =>
    {
        assertion();
        return Task.CompletedTask;
    });

    private async Task AwaitAsync(Func<Task> assertion)
    {
        _kit ??= new Akka.TestKit.Xunit2.TestKit(_nodes[0].System);
        await _kit.AwaitAssertAsync(assertion, Generous, TimeSpan.FromMilliseconds(200));
    }

    /// <summary>Records what the shell prints and presses "Ctrl-C" once <paramref name="marker"/> has been printed.</summary>
    private sealed class InterruptingWriter(string marker, Action interrupt) : StringWriter
    {
        private bool _pressed;

        public override void Write(string? value)
        {
            base.Write(value);
            if (!_pressed && ToString().Contains(marker, StringComparison.Ordinal))
            {
                _pressed = true;
                interrupt();
            }
        }

        public override Task WriteAsync(string? value)
        {
            Write(value);
            return Task.CompletedTask;
        }
    }

    private sealed class Unregister(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
