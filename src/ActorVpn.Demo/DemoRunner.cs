using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using ActorVpn.Client;
using ActorVpn.Hosting;
using ActorVpn.Protocol;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;

namespace ActorVpn.Demo;

/// <summary>What <c>avpn demo</c> saw.</summary>
public sealed record DemoReport(string User, string Destination, IReadOnlyList<string> Route, IReadOnlyList<string> HandOff,
    TimeSpan SetUp, long BytesEachWay, TimeSpan Transfer, bool Verified)
{
    public double MiBPerSecond => BytesEachWay * 2 / 1048576.0 / Math.Max(Transfer.TotalSeconds, 1e-6);

    public string ToText() =>
        $"""
        demo: user '{User}' to '{Destination}'
          hand-off path : {string.Join(" -> ", HandOff)}
          route         : {string.Join(" -> ", Route)}
          set-up time   : {SetUp.TotalMilliseconds:0.0} ms (local connect to first byte echoed by the destination)
          transfer      : {BytesEachWay / 1048576.0:0.#} MiB each way in {Transfer.TotalMilliseconds:0} ms ({MiBPerSecond:0} MiB/s both ways together)
          verified      : {(Verified ? "every byte came back intact (SHA-256)" : "MISMATCH")}
        """;
}

/// <summary>
/// <c>avpn demo</c>: the topology's whole system on loopback in one process, an echo destination,
/// the demo user; connects through the chain, moves data both ways and verifies it.
/// </summary>
public static class DemoRunner
{
    /// <param name="progress">Told each stage as it starts (a start takes seconds: the store warms up, every server enrols its proxies).</param>
    public static async Task<DemoReport> RunAsync(TopologyModel topology, int mebibytes = 8, Config? overrides = null, Action<string>? progress = null)
    {
        var say = progress ?? (_ => { });
        var user = topology.Users.FirstOrDefault() ?? throw new InvalidOperationException($"{topology.Source} registers no user to run the demo with");
        var destination = topology.AuthServer(user.AuthServer).Relays.Keys.FirstOrDefault()
            ?? throw new InvalidOperationException($"{user.AuthServer}, the home server of '{user.Name}', relays no destination");
        // The demo runs on the embedded durable store, SQLite, in a temporary data directory
        // (journal, snapshots, audit trail, key secret), deleted when the demo ends.
        var data = Path.Combine(Path.GetTempPath(), "avpn-demo-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            return await RunInAsync(topology, user, destination, mebibytes, overrides, data, say);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    private static async Task<DemoReport> RunInAsync(TopologyModel topology, UserSpec user, string destination, int mebibytes, Config? overrides, string data, Action<string> say)
    {
        say($"echo destination '{destination}' on {topology.Destinations[destination]}");
        await using var echo = new EchoServer(topology.Destinations[destination]);
        say($"starting {topology.AuthServers.Count} auth servers and {topology.Proxies.Count} proxies (SQLite store in {data})");
        var starting = Stopwatch.StartNew();
        await using var node = await VpnNode.StartAsync(topology, overrides ?? ConfigurationFactory.ParseString("akka.loglevel = WARNING"),
            [DurableStore.LayerFor(DurableStore.Sqlite)], dataDirectory: data);
        say($"system up in {starting.Elapsed.TotalSeconds:0.0} s: proxies {string.Join(", ", node.ProxyAddresses.Select(p => $"{p.Key} on {p.Value}"))}");
        var steps = new List<HandOffStepReached>();
        var established = new TaskCompletionSource<ClientProtocol.SessionEstablished>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = node.System.ActorOf(Props.Create(() => new DemoListener(steps, established, say)));
        node.System.EventStream.Subscribe(listener, typeof(HandOffStepReached));
        node.System.EventStream.Subscribe(listener, typeof(ClientProtocol.SessionEstablished));

        say($"registering '{user.Name}' at {user.AuthServer} only");
        var profile = await node.EnrollUserAsync(user.Name, user.AuthServer, by: "demo");
        var local = HostPort.Parse(await node.ConnectAsync(profile, destination));
        say($"client on {local}; connecting to '{destination}' through the chain (the certificate is handed from auth server to auth server)");

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        // Set-up time: local connect until the destination's first echoed byte is back.
        var clock = Stopwatch.StartNew();
        await socket.ConnectAsync(local.Host, local.Port, deadline.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(new byte[] { 42 }, deadline.Token);
        var first = new byte[1];
        await stream.ReadExactlyAsync(first, deadline.Token);
        var setUp = clock.Elapsed;

        say($"chain up in {setUp.TotalMilliseconds:0} ms; sending {mebibytes} MiB each way and checking every byte");
        var payload = RandomNumberGenerator.GetBytes(mebibytes * 1024 * 1024);
        clock.Restart();
        var sending = Task.Run(async () =>
        {
            for (var offset = 0; offset < payload.Length; offset += 64 * 1024)
            {
                await stream.WriteAsync(payload.AsMemory(offset, Math.Min(64 * 1024, payload.Length - offset)), deadline.Token);
            }

            socket.Shutdown(SocketShutdown.Send); // half-close: the echo still comes back
        });
        var received = new byte[payload.Length];
        await stream.ReadExactlyAsync(received, deadline.Token);
        await sending;
        var transfer = clock.Elapsed;
        var verified = first[0] == 42 && SHA256.HashData(received).AsSpan().SequenceEqual(SHA256.HashData(payload));

        var session = await established.Task.WaitAsync(deadline.Token);
        await listener.Ask<ActorIdentity>(new Identify(null));
        List<HandOffStepReached> recorded;
        lock (steps)
        {
            recorded = steps.ToList();
        }

        return new DemoReport(user.Name, destination, session.Route, HandOffPath(recorded), setUp, payload.Length, transfer, verified);
    }

    /// <summary>The auth servers certificate 1 visited, in order: the home server, then each Fig. 9 step 901.</summary>
    private static List<string> HandOffPath(List<HandOffStepReached> steps)
    {
        var home = steps.FirstOrDefault(s => s.Step == PatentStep.Fig8LookUp802);
        return home is null
            ? []
            : steps.Where(s => s.Step == PatentStep.Fig9Receive901 && s.HandOffId == home.HandOffId).Select(s => s.AuthServer).Prepend(home.AuthServer).ToList();
    }

    private sealed class DemoListener : ReceiveActor
    {
        public DemoListener(List<HandOffStepReached> steps, TaskCompletionSource<ClientProtocol.SessionEstablished> established, Action<string> say)
        {
            Receive<HandOffStepReached>(step =>
            {
                // Fig. 9 step 901: certificate 1 arrived at the next auth server of the hand-off.
                if (step.Step == PatentStep.Fig9Receive901)
                {
                    say($"hand-off: certificate at {step.AuthServer}");
                }

                lock (steps)
                {
                    steps.Add(step);
                }
            });
            Receive<ClientProtocol.SessionEstablished>(session => established.TrySetResult(session));
        }
    }
}
