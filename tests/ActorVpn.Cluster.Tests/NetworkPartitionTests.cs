using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ActorVpn.Client;
using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Testing;
using ActorVpn.Testing.Netns;
using ActorVpn.Topology;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.Cluster.Tests;

/// <summary>
/// A real network partition between <c>avpn node</c> processes: each built <c>avpn</c> runs in its own
/// network namespace with its own address (<see cref="NetnsLab"/>), Akka.Remote over mutual TLS as a
/// node on a non-loopback address must, every node journalling to one shared PostgreSQL, and the
/// packets between the minority and the others are dropped. The node cut off is the one running
/// group as4, so the group must move: keep-majority downs the minority (which exits with the downed
/// code), the group starts on the majority side with its state from the store, no auth-server group
/// runs on two nodes at any moment the consoles show, and once the network is mended the cluster
/// takes the node back and serves.
/// </summary>
public sealed class NetworkPartitionTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly string _dir = Directory.CreateTempSubdirectory("actorvpn-partition-").FullName;
    private readonly List<AvpnProcess> _processes = [];

    public void Dispose()
    {
        foreach (var process in _processes.AsEnumerable().Reverse())
        {
            process.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [SkippableFact]
    public async Task Keep_majority_downs_the_groups_node_cut_off_by_the_network_the_group_moves_with_its_state_never_runs_twice_and_the_mended_cluster_serves()
    {
        var unavailable = NetnsLab.WhyNotAvailable();
        Skip.If(unavailable is not null, unavailable);
        var postgres = await TestPostgres.CreateDatabaseAsync();
        using var lab = NetnsLab.Create(3);
        await using var echo = new EchoServer(new HostPort(lab.HostAddress, 0));
        var topology = Path.Combine(_dir, "topology.hocon");
        await File.WriteAllTextAsync(topology, ExampleTopology.Text
            .Replace("127.0.0.1:9000", echo.Address.ToString(), StringComparison.Ordinal)
            .Replace("127.0.0.1:71", $"{lab.AddressOf(1)}:71", StringComparison.Ordinal));
        var certificate = ClusterCertificate();
        try
        {
            await RunAsync(lab, topology, certificate, postgres);
        }
        catch (Exception)
        {
            foreach (var (process, i) in _processes.Select((p, i) => (p, i)))
            {
                output.WriteLine($"---- avpn process {i + 1} ----\n{string.Join('\n', process.Output.Split('\n').Where(l => !l.StartsWith("   at ", StringComparison.Ordinal)).TakeLast(60))}");
            }

            throw;
        }
    }

    private async Task RunAsync(NetnsLab lab, string topology, (string Path, string Password) certificate, string postgres)
    {
        // The nodes reach the test's PostgreSQL (on the host's loopback) through a relay on the host's bridge address.
        await using var store = StoreRelay.Start(postgres, lab.HostAddress);
        // node1: the seed, group as1 and every proxy; node2 then node3 may host group as4 (node2, the older, runs it).
        // One after another: a node that dials the seed before its TLS listener is up waits out Akka's association timeout.
        var node1 = StartNode(lab, 1, "groups = [as1], proxies = [proxy1, proxy2, proxy3]", topology, certificate, store);
        await node1.AwaitLineAsync($"proxy proxy1 listening on {lab.AddressOf(1)}:7101", Generous); // an Up member: as1 runs
        var node2 = StartNode(lab, 2, "groups = [as4], proxies = []", topology, certificate, store);
        await node2.AwaitLineAsync("ready", Generous);
        var node3 = StartNode(lab, 3, "groups = [as4], proxies = []", topology, certificate, store);
        await Task.WhenAll(node1.AwaitLineAsync("ready", Generous), node3.AwaitLineAsync("ready", Generous));

        await using var console1 = await ConsoleAsync(1);
        var added = await console1.RunAsync(["user", "add", "bob", "--auth-server", "as1"]);
        Assert.True(added.Exit == ConsoleReply.Ok, added.Error);
        var bob = JsonSerializer.Deserialize<ClientProfile>(added.ProfileJson!, Json)!;
        // carol's home server as2 is a member of group as4: she is known only to that group's journal in the store.
        var addedCarol = await console1.RunAsync(["user", "add", "carol", "--auth-server", "as2"]);
        Assert.True(addedCarol.Exit == ConsoleReply.Ok, addedCarol.Error);
        var carol = JsonSerializer.Deserialize<ClientProfile>(addedCarol.ProfileJson!, Json)!;
        Assert.Equal(["proxy1", "proxy2", "proxy3"], await ClusterFailoverTests.DialAndEchoAsync(bob));
        Assert.Equal(["proxy2", "proxy3"], await ClusterFailoverTests.DialAndEchoAsync(carol));
        Assert.Equal(Member(lab, 2), await HostOfAs4Async(console1));

        await using var watch = GroupWatch.Start([await ConsoleAsync(1), await ConsoleAsync(2), await ConsoleAsync(3)]);
        await watch.AwaitRoundsAsync(2);
        await using (var console2 = await ConsoleAsync(2))
        await using (var console3 = await ConsoleAsync(3))
        {
            await AwaitSettledAsync([console1, console2, console3], members: 3);
        }

        // Drop every packet between node2, which runs group as4, and the others, both ways: node2 is the minority.
        var clock = Stopwatch.StartNew();
        lab.Isolate(2, 1, 3);
        await EventuallyAsync(async () => Assert.DoesNotContain(Member(lab, 2), await MembersAsync(console1)));
        var removed = clock.Elapsed;
        var exit = await node2.WaitForExitAsync(Generous); // downed by its own side's keep-majority: its group managers stop with it
        var exited = clock.Elapsed;
        Assert.True(exit == NodeExitCodes.Downed, $"node2 exited with code {exit}, not the downed code {NodeExitCodes.Downed}");
        Assert.Contains("downed by the cluster", node2.Stderr, StringComparison.Ordinal);
        await EventuallyAsync(async () => Assert.Equal(Member(lab, 3), await HostOfAs4Async(console1)));
        var moved = clock.Elapsed;
        await EventuallyAsync(async () => Assert.Equal(["proxy1", "proxy2", "proxy3"], await ClusterFailoverTests.DialAndEchoAsync(bob)));
        var servedDuring = clock.Elapsed;
        // A group that came back empty would not know carol: her session proves as4's state came from the store.
        Assert.Equal(["proxy2", "proxy3"], await ClusterFailoverTests.DialAndEchoAsync(carol));

        // Mend the network and start node2 again: it joins, and the cluster serves as before.
        lab.Mend(2, 1);
        lab.Mend(2, 3);
        var mended = clock.Elapsed;
        node2 = StartNode(lab, 2, "groups = [as4], proxies = []", topology, certificate, store);
        await node2.AwaitLineAsync("ready", Generous);
        await EventuallyAsync(async () => Assert.Contains(Member(lab, 2), await MembersAsync(console1)));
        var rejoined = clock.Elapsed;
        Assert.Equal(["proxy1", "proxy2", "proxy3"], await ClusterFailoverTests.DialAndEchoAsync(bob));
        var servedAfter = clock.Elapsed;

        var rounds = await watch.StopAsync();
        Assert.True(watch.Twice.IsEmpty, $"group as4 ran on two nodes at once: {string.Join("; ", watch.Twice)}");
        output.WriteLine($"partition timeline (s after cutting off node2, which ran as4): node2 removed from node1's view {removed.TotalSeconds:F1}, " +
            $"node2 downed and exited (code {exit}) {exited.TotalSeconds:F1}, as4 up on node3 {moved.TotalSeconds:F1}, a session through the majority {servedDuring.TotalSeconds:F1}; " +
            $"mended at {mended.TotalSeconds:F1}, node2 back as a member {rejoined.TotalSeconds:F1}, a session after the mend {servedAfter.TotalSeconds:F1}; " +
            $"{rounds} observation rounds of every node's console, as4 never on two nodes");
    }

    // Over TLS (hocon/remote.hocon) member addresses use the akka.ssl.tcp protocol.
    private static string Member(NetnsLab lab, int host) => $"akka.ssl.tcp://actorvpn@{lab.AddressOf(host)}:4053";

    private AvpnProcess StartNode(NetnsLab lab, int host, string hosts, string topology, (string Path, string Password) certificate, StoreRelay store)
    {
        var config = Path.Combine(_dir, $"node{host}.hocon");
        File.WriteAllText(config, $$"""
            akka.remote.dot-netty.tcp { hostname = "{{lab.AddressOf(host)}}", port = 4053 }
            akka.cluster {
              seed-nodes = ["{{Member(lab, 1)}}"]
              periodic-tasks-initial-delay = 0s, gossip-interval = 200ms, leader-actions-interval = 200ms
              unreachable-nodes-reaper-interval = 200ms, retry-unsuccessful-join-after = 1s, seed-node-timeout = 2s
              failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 3s, expected-response-after = 200ms } # processes on a busy 2-core box
              split-brain-resolver.stable-after = 2s
              # stable-after + acceptable-heartbeat-pause + 2s: the cut-off node decides stable-after after it saw its last
              # peer unreachable, which can lag the majority's view by the heartbeat pause (see hocon/cluster.hocon)
              down-removal-margin = 7s
              singleton.hand-over-retry-interval = 200ms
            }
            actorvpn.node { topology = "{{topology}}", {{hosts}}, health.port = 0, drain-period = 1s }
            """);
        var start = AvpnBinary.StartInfo(["node", "--config", config, "--data", Path.Combine(_dir, $"data{host}"), "--console", $"{lab.AddressOf(host)}:9110"]);
        // Akka.Remote on an address other nodes reach goes over mutual TLS (hocon/remote.hocon), as a pod's does.
        start.Environment["AVPN_REMOTE_TLS"] = "on";
        start.Environment["AVPN_REMOTE_TLS_CERTIFICATE"] = certificate.Path;
        start.Environment["AVPN_REMOTE_TLS_PASSWORD"] = certificate.Password;
        start.Environment["AVPN_POSTGRES"] = store.ConnectionString;
        start.Environment["AVPN_KEY_SECRET"] = "partition-test-key-secret";
        var process = AvpnProcess.Start(lab.Inside(host, start));
        _processes.Add(process);
        return process;
    }

    private Task<ConsoleClient> ConsoleAsync(int host) =>
        ConsoleClient.ConnectAsync(OperatorCredential.Load(Path.Combine(_dir, $"data{host}", "admin.avpn")), Generous);

    private (string Path, string Password) ClusterCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=actorvpn-partition-test", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(_dir, "cluster.pfx");
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return (path, password);
    }

    private static async Task<IReadOnlyList<string>> MembersAsync(ConsoleClient console) =>
        (await UpMembersAsync(console)).Select(m => m.Address).ToList();

    /// <summary>The members the node behind <paramref name="console"/> sees up, and whether it sees each reachable.</summary>
    private static async Task<IReadOnlyList<(string Address, bool Reachable)>> UpMembersAsync(ConsoleClient console)
    {
        var reply = await console.RunAsync(["cluster", "show", "--json"]);
        Assert.True(reply.Exit == ConsoleReply.Ok, reply.Error);
        return JsonDocument.Parse(reply.Output).RootElement.GetProperty("members").EnumerateArray()
            .Where(m => m.GetProperty("status").GetString() == "up")
            .Select(m => (m.GetProperty("address").GetString()!, m.GetProperty("reachable").GetBoolean())).ToList();
    }

    /// <summary>
    /// Waits until every node has seen all <paramref name="members"/> members up and reachable, without a break, for longer than
    /// its failure detector takes to judge a silent peer (the node config's acceptable-heartbeat-pause of 3 s after the first
    /// heartbeat's expected-response-after, and a margin). A partition cut before then can land on a heartbeat link between two
    /// of the nodes that has not carried its first heartbeats yet: the cut-off node then reports the other one unreachable as
    /// the cut lands, and the split brain resolver downs that healthy member too, as indirectly connected.
    /// </summary>
    private static async Task AwaitSettledAsync(IReadOnlyList<ConsoleClient> consoles, int members)
    {
        var window = TimeSpan.FromSeconds(5);
        var waited = Stopwatch.StartNew();
        var settled = Stopwatch.StartNew();
        while (settled.Elapsed < window)
        {
            var views = await Task.WhenAll(consoles.Select(async console => (await UpMembersAsync(console)).Count(m => m.Reachable)));
            if (views.Any(upAndReachable => upAndReachable != members))
            {
                settled.Restart();
            }

            Assert.True(waited.Elapsed < Generous, $"the cluster did not settle: members up and reachable as each node sees them: {string.Join(", ", views)}");
            await Task.Delay(TimeSpan.FromMilliseconds(200)); // the interval between observations, not a wait for a condition
        }
    }

    private static async Task<string?> HostOfAs4Async(ConsoleClient console)
    {
        var reply = await console.RunAsync(["cluster", "show", "--json"]);
        return JsonDocument.Parse(reply.Output).RootElement.GetProperty("groups").EnumerateArray()
            .Single(g => g.GetProperty("group").GetString() == "as4").GetProperty("node").GetString();
    }

    /// <summary>Retries <paramref name="assertion"/> until it passes or <see cref="Generous"/> has passed (then its last failure is thrown).</summary>
    private static async Task EventuallyAsync(Func<Task> assertion)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await assertion();
                return;
            }
            catch (Exception) when (deadline.Elapsed < Generous)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200)); // the interval between attempts, not a wait for a condition
            }
        }
    }

    /// <summary>
    /// The test's PostgreSQL listens on the host's loopback only, which a node in its own network
    /// namespace cannot reach: this relays TCP from the host's bridge address to it, byte for byte.
    /// </summary>
    private sealed class StoreRelay : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly IPEndPoint _target;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;

        private StoreRelay(TcpListener listener, IPEndPoint target, string connectionString)
        {
            _listener = listener;
            _target = target;
            ConnectionString = connectionString;
            _accepting = Task.Run(AcceptAsync);
        }

        /// <summary>The connection string a node uses: the relay's address in place of the server's.</summary>
        public string ConnectionString { get; }

        public static StoreRelay Start(string postgres, string hostAddress)
        {
            var builder = new NpgsqlConnectionStringBuilder(postgres);
            var target = new IPEndPoint(IPAddress.Parse(builder.Host!), builder.Port);
            var listener = new TcpListener(IPAddress.Parse(hostAddress), 0);
            listener.Start();
            builder.Host = hostAddress;
            builder.Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            return new StoreRelay(listener, target, builder.ConnectionString);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try
            {
                await _accepting;
            }
            catch (Exception)
            {
                // the listener stopped under a pending accept
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(() => PipeAsync(inbound));
            }
        }

        private async Task PipeAsync(TcpClient inbound)
        {
            using (inbound)
            using (var outbound = new TcpClient())
            {
                try
                {
                    await outbound.ConnectAsync(_target, _stop.Token);
                    await using var a = inbound.GetStream();
                    await using var b = outbound.GetStream();
                    // Either direction ending (a node exiting, the relay stopping) ends the pair.
                    await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
                }
                catch (Exception)
                {
                    // a node that exits (downed or stopped) drops its connections: nothing to relay
                }
            }
        }
    }

    /// <summary>
    /// Asks every node's console, round after round, whether it runs group as4's root right now
    /// (<c>actor hierarchy /user/group-as4</c>: the node's own actor tree, read locally, so a node
    /// answers whichever side of the partition it is on); a round in which two nodes do is recorded.
    /// </summary>
    private sealed class GroupWatch : IAsyncDisposable
    {
        private readonly IReadOnlyList<ConsoleClient> _consoles;
        private readonly CancellationTokenSource _stop = new();
        private Task<int>? _running;
        private int _rounds;

        private GroupWatch(IReadOnlyList<ConsoleClient> consoles) => _consoles = consoles;

        public ConcurrentQueue<string> Twice { get; } = new();

        public static GroupWatch Start(IReadOnlyList<ConsoleClient> consoles)
        {
            var watch = new GroupWatch(consoles);
            watch._running = Task.Run(watch.RunAsync);
            return watch;
        }

        public async Task AwaitRoundsAsync(int rounds)
        {
            var deadline = Stopwatch.StartNew();
            while (Volatile.Read(ref _rounds) < rounds && deadline.Elapsed < Generous && !_running!.IsCompleted)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50)); // polling the counter
            }

            Assert.True(Volatile.Read(ref _rounds) >= rounds, "the consoles did not answer");
        }

        public async Task<int> StopAsync()
        {
            await _stop.CancelAsync();
            return await _running!;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await _stop.CancelAsync();
            }

            try
            {
                await _running!;
            }
            catch (Exception)
            {
                // already reported by StopAsync
            }

            foreach (var console in _consoles)
            {
                await console.DisposeAsync();
            }

            _stop.Dispose();
        }

        private async Task<int> RunAsync()
        {
            var gone = new bool[_consoles.Count];
            while (!_stop.IsCancellationRequested)
            {
                var hosting = new List<int>();
                for (var i = 0; i < _consoles.Count; i++)
                {
                    if (gone[i])
                    {
                        continue;
                    }

                    try
                    {
                        var reply = await _consoles[i].RunAsync(["actor", "hierarchy", "/user/group-as4", "--depth", "1", "--json"]);
                        if (reply.Exit == ConsoleReply.Ok && JsonDocument.Parse(reply.Output).RootElement.EnumerateArray()
                            .Any(a => a.GetProperty("path").GetString() == "/user/group-as4/as4"))
                        {
                            hosting.Add(i + 1);
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        gone[i] = true; // the node exited (downed): it runs nothing any more
                    }
                }

                if (hosting.Count > 1)
                {
                    Twice.Enqueue($"round {_rounds}: nodes {string.Join(", ", hosting)}");
                }

                Interlocked.Increment(ref _rounds);
                await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None); // paces the rounds so the consoles do not take the CPU the nodes need
            }

            return _rounds;
        }
    }
}
