using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ActorVpn.Client;
using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Proxies;
using ActorVpn.Testing;
using ActorVpn.Topology;
using Akka.Actor;
using Npgsql;
using Xunit;

namespace ActorVpn.Deployment.Tests;

/// <summary>What one <c>avpn node</c> process hosts.</summary>
public sealed record NodePlan(string Name, IReadOnlyList<string> Groups, IReadOnlyList<string> Proxies);

/// <summary>
/// A cluster as it is deployed: one built <c>avpn node</c> process per node on loopback, every node
/// journalling to one fresh PostgreSQL database (AVPN_TEST_POSTGRES, which scripts/test.sh starts),
/// configured only through its <c>--config</c> file and the environment a pod gets (AVPN_POSTGRES,
/// AVPN_KEY_SECRET). The patent's example topology, with an echo server as its destination; a client
/// (the <c>avpn connect</c> actors) runs in the test process.
/// </summary>
public sealed class DeployedCluster : IAsyncDisposable
{
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(120); // 2-core CI runs other test projects at once

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"avpn-deploy-{Guid.NewGuid():N}");
    private readonly Dictionary<string, NodePlan> _plans = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _remotePorts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _consolePorts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AvpnProcess> _processes = new(StringComparer.Ordinal);
    private readonly List<AvpnProcess> _ended = [];
    private readonly EchoServer _echo = new(new HostPort("127.0.0.1", 0));
    private readonly ActorSystem _client = ActorSystem.Create("deployment-client", "akka.loglevel = WARNING");
    private readonly Dictionary<string, string> _environment;
    private readonly string _timings;

    private readonly Dictionary<string, int> _proxyPorts = new(StringComparer.Ordinal);

    private DeployedCluster(string postgres, string timings, IReadOnlyDictionary<string, string>? environment)
    {
        _timings = timings;
        _environment = new Dictionary<string, string>(environment ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["AVPN_POSTGRES"] = postgres,
            ["AVPN_KEY_SECRET"] = "deployment-suite-key-secret",
        };
        Directory.CreateDirectory(_dir);
    }

    /// <summary>
    /// Cluster timings for a test: the failure detector, the split-brain resolver and the singleton hand-over tuned for loopback.
    /// Looser than the in-process harness's: several processes share two cores with other test runs, and
    /// a heartbeat delayed by a starved thread pool must not get a healthy node downed.
    /// </summary>
    public static string TunedTimings => ClusterScenario.FastClusterTimings + """

        akka.cluster.failure-detector.acceptable-heartbeat-pause = 4s
        akka.cluster.split-brain-resolver.stable-after = 2s
        akka.cluster.down-removal-margin = 8s # stable-after + acceptable-heartbeat-pause + 2s (see hocon/cluster.hocon)
        akka.cluster.seed-node-timeout = 5s
        actorvpn.node { drain-period = 5s, bootstrap-interval = 500ms }
        actorvpn.auth-server.handoff-timeout = 3s
        """;

    public string TopologyFile => Path.Combine(_dir, "topology.hocon");

    /// <summary>
    /// Starts every node of <paramref name="plans"/> at once, as a StatefulSet's pods start, and waits until each prints <c>ready</c>.
    /// <paramref name="environment"/>: variables every node gets besides the store's (as a pod's env).
    /// </summary>
    public static async Task<DeployedCluster> StartAsync(IReadOnlyList<NodePlan> plans, string? timings = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var cluster = new DeployedCluster(await CreateDatabaseAsync(), timings ?? TunedTimings, environment);
        try
        {
            var proxies = cluster._proxyPorts;
            foreach (var proxy in new[] { "proxy1", "proxy2", "proxy3" })
            {
                proxies[proxy] = FreePorts.Take();
            }

            await File.WriteAllTextAsync(cluster.TopologyFile, $$"""
                actorvpn.topology {
                  destinations { server = "{{cluster._echo.Address}}" }
                  auth-servers {
                    as1 { routes { server = as2 }, relays { server = proxy1 } }
                    as2 { parent = as4, relays { server = proxy2 }, trusts = [as1] }
                    as3 { parent = as4, routes { server = end }, relays { server = proxy3 }, trusts = [as4] }
                    as4 { routes { server = as3 }, trusts = [as2] }
                  }
                  proxies {
                    proxy1 { auth-server = as1, listen = "127.0.0.1:{{proxies["proxy1"]}}" }
                    proxy2 { auth-server = as2, listen = "127.0.0.1:{{proxies["proxy2"]}}" }
                    proxy3 { auth-server = as3, listen = "127.0.0.1:{{proxies["proxy3"]}}" }
                  }
                  users { alice { auth-server = as1 } }
                }
                """);
            foreach (var plan in plans)
            {
                cluster._plans[plan.Name] = plan;
                cluster._remotePorts[plan.Name] = FreePorts.Take();
                cluster._consolePorts[plan.Name] = FreePorts.Take();
            }

            // The first node creates the store's tables (auto-initialize) before the others start:
            // several processes creating them at once on a fresh database block each other past the
            // journal's recovery timeout.
            cluster.Launch(plans[0].Name);
            await Eventually.TrueAsync(cluster.StoreInitializedAsync, Generous, $"{plans[0].Name} never created the journal's tables");
            foreach (var plan in plans.Skip(1))
            {
                cluster.Launch(plan.Name);
            }

            await Task.WhenAll(plans.Select(p => cluster.AwaitReadyAsync(p.Name)));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public AvpnProcess Node(string name) => _processes[name];

    /// <summary>The loopback port <paramref name="proxy"/> listens on (its topology address).</summary>
    public int ProxyPort(string proxy) => _proxyPorts[proxy];

    /// <summary>The akka address the other nodes know <paramref name="node"/> by.</summary>
    public string AddressOf(string node) => $"akka.tcp://actorvpn@127.0.0.1:{_remotePorts[node]}";

    /// <summary>Starts (or restarts, on the same store, configuration and data directory) one node's process.</summary>
    public AvpnProcess Launch(string node)
    {
        var plan = _plans[node];
        var config = Path.Combine(_dir, $"{node}.hocon");
        File.WriteAllText(config, $$"""
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{_remotePorts[node]}} }
            akka.cluster.seed-nodes = [{{string.Join(", ", _plans.Keys.Select(n => $"\"{AddressOf(n)}\""))}}]
            actorvpn.node {
              topology = "{{TopologyFile}}"
              groups = [{{string.Join(", ", plan.Groups)}}]
              proxies = [{{string.Join(", ", plan.Proxies)}}]
              health.port = 0
            }
            {{_timings}}
            """);
        if (_processes.Remove(node, out var earlier))
        {
            _ended.Add(earlier);
        }

        var process = AvpnProcess.Start(["node", "--config", config, "--data", DataOf(node), "--console", $"127.0.0.1:{_consolePorts[node]}"], _environment);
        _processes[node] = process;
        return process;
    }

    public Task AwaitReadyAsync(string node) => _processes[node].AwaitLineAsync("ready", Generous);

    /// <summary>The operator console of <paramref name="node"/>, through its own operator credential.</summary>
    public Task<ConsoleClient> ConsoleOfAsync(string node) => ConsoleClient.ConnectAsync(OperatorCredential.Load(Path.Combine(DataOf(node), "admin.avpn")), Generous);

    /// <summary>Runs one console command on <paramref name="node"/>; fails the test unless it succeeds.</summary>
    public async Task<ConsoleReply> RunAsync(string node, params string[] words)
    {
        await using var console = await ConsoleOfAsync(node);
        var reply = await console.RunAsync(words);
        Assert.True(reply.Exit == ConsoleReply.Ok, $"{string.Join(' ', words)} on {node}: {reply.Error}");
        return reply;
    }

    /// <summary><c>user add</c> on <paramref name="node"/>'s console (a node with role <c>auth</c>: it hosts groups); returns the new profile.</summary>
    public async Task<ClientProfile> AddUserAsync(string node, string user, string home = "as1") =>
        JsonSerializer.Deserialize<ClientProfile>((await RunAsync(node, "user", "add", user, "--auth-server", home)).ProfileJson!, Json)!;

    /// <summary>The profile a node wrote for a topology user when it registered it (the node running the user's home group), once it has.</summary>
    public async Task<ClientProfile> TopologyProfileAsync(string node, string user)
    {
        var path = Path.Combine(DataOf(node), "profiles", $"{user}.avpn");
        await Eventually.TrueAsync(() => Task.FromResult(File.Exists(path)), Generous, $"{node} never wrote {path}");
        return ClientProfile.Load(path);
    }

    /// <summary>
    /// One application connection through the chain to the echo destination: the client runs Fig. 5 for it,
    /// with <paramref name="settings"/> (its timeouts) or the defaults.
    /// </summary>
    public async Task<Socket> OpenAsync(ClientProfile profile, DataPlaneSettings? settings = null)
    {
        var listen = await VpnNode.StartClientAsync(_client, profile, "server", new IPEndPoint(IPAddress.Loopback, 0), settings ?? DataPlaneSettings.Default);
        var at = HostPort.Parse(listen);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(at.Host), at.Port);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>True if bytes sent on <paramref name="socket"/> come back from the destination: the session is up.</summary>
    public static async Task<bool> EchoesAsync(Socket socket, TimeSpan within)
    {
        var payload = Guid.NewGuid().ToByteArray();
        using var cancel = new CancellationTokenSource(within);
        try
        {
            await socket.SendAsync(payload, SocketFlags.None, cancel.Token);
            var received = new byte[payload.Length];
            var read = 0;
            while (read < received.Length)
            {
                var n = await socket.ReceiveAsync(received.AsMemory(read), SocketFlags.None, cancel.Token);
                if (n == 0)
                {
                    return false;
                }

                read += n;
            }

            return received.AsSpan().SequenceEqual(payload);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A new session for <paramref name="profile"/> carries data end to end.</summary>
    public async Task<bool> NewSessionWorksAsync(ClientProfile profile, TimeSpan within)
    {
        Socket socket;
        try
        {
            socket = await OpenAsync(profile);
        }
        catch (SocketException)
        {
            // The client resets a local connection at once when its entry proxy refuses it; the connect can report
            // that reset itself. The session did not work.
            return false;
        }

        using (socket)
        {
            return await EchoesAsync(socket, within);
        }
    }

    /// <summary>Completes once the far end closed <paramref name="socket"/> (reads end), or throws after <paramref name="within"/>.</summary>
    public static async Task AwaitClosedAsync(Socket socket, TimeSpan within)
    {
        using var cancel = new CancellationTokenSource(within);
        var buffer = new byte[256];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // reset: closed too
        }
    }

    public string Diagnostics() => string.Join("\n", _processes.Select(p => $"--- {p.Key}{(p.Value.HasExited ? " (exited)" : "")}:\n{p.Value.Excerpt()}"));

    public async ValueTask DisposeAsync()
    {
        // One after another, newest first: stopping all at once makes the cluster-exiting phase time out.
        foreach (var process in _processes.Values.Reverse().Concat(_ended))
        {
            process.Dispose();
        }

        await _client.Terminate();
        await _echo.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // a file still held by an exiting process: the temp directory is cleaned by the OS
        }
    }

    private string DataOf(string node) => Path.Combine(_dir, node);

    private async Task<bool> StoreInitializedAsync()
    {
        await using var connection = new NpgsqlConnection(_environment["AVPN_POSTGRES"]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('journal', 'snapshot', 'tags')", connection);
        return await command.ExecuteScalarAsync() is long and 3;
    }

    private static async Task<string> CreateDatabaseAsync()
    {
        var database = await ScenarioStores.PostgresDatabaseAsync();
        Skip.If(database is null, "no PostgreSQL: AVPN_TEST_POSTGRES is not set (scripts/test.sh starts a private server; it could not be started here)");
        return database!;
    }

}

/// <summary>Awaits a condition with a bounded deadline (never a fixed sleep).</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan within, string message)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException(message);
            }

            await Task.Delay(100);
        }
    }
}
