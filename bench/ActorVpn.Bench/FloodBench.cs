using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ActorVpn.Client;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Configuration;

namespace ActorVpn.Bench;

/// <summary>
/// Admission under attack (bench/run.sh --flood): the patent's example system with its shipped
/// limits, a second user's set-ups timed alone, then again while a flood holds idle connections
/// (never starting TLS) at the entry proxy from many loopback source addresses and 60 loops set up
/// sessions as fast as they can from one profile. Prints p50/p99 of the timed user's set-ups, what
/// the flood got, and what limited it.
/// </summary>
public static class FloodBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        var idle = IntArg(args, "--idle", 15_000);
        var loops = IntArg(args, "--loops", 60);
        var samples = IntArg(args, "--samples", 200);
        var clock = Stopwatch.StartNew();
        void Log(string line) => Console.Error.WriteLine($"[flood {clock.Elapsed.TotalSeconds,5:0}s] {line}");

        using var destination = new DualServer();
        var text = ExampleTopology.Text.Replace("127.0.0.1:9000", $"127.0.0.1:{destination.Port}", StringComparison.Ordinal);
        var loaded = TopologyLoader.LoadText(text, "flood topology");
        var topology = new TopologyModel(loaded.Source, loaded.Destinations, loaded.AuthServers,
            loaded.Proxies.Select(p => p with { Listen = new HostPort("127.0.0.1", 0) }).ToList(), loaded.Users);
        await using var node = await VpnNode.StartAsync(topology, ConfigurationFactory.ParseString("akka.loglevel = WARNING"));
        var flooder = node.ProfileFor(await node.Control.RegisterUserAsync("mallory", "as1", by: "bench"));
        var timed = node.ProfileFor(await node.Control.RegisterUserAsync("bob", "as1", by: "bench"));
        var flooderPort = HostPort.Parse(await node.ConnectAsync(flooder, "server")).Port;
        var timedPort = HostPort.Parse(await node.ConnectAsync(timed, "server")).Port;
        var entry = HostPort.Parse(timed.Entries["server"].Address);
        var (soft, hard) = Fds.Limits();
        Log($"entry proxy {entry}; open-files limit soft {soft} / hard {hard}; {idle} idle connections, {loops} loops, {samples} timed set-ups");

        await TimedAsync(timedPort, 20); // warm (a loaded machine may fail some)

        var quiet = await TimedAsync(timedPort, samples);
        Log($"without flood: bob's set-up p50 {Percentile(quiet, 50):0.0} ms, p99 {Percentile(quiet, 99):0.0} ms");

        using var stop = new CancellationTokenSource();
        var flood = new Flood();
        var opening = Task.Run(() => flood.OpenAsync(entry, idle, stop.Token));
        var hammering = Enumerable.Range(0, loops).Select(_ => Task.Run(() => flood.LoopAsync(flooderPort, stop.Token))).ToList();
        while (!opening.IsCompleted && flood.Attempted < idle / 2)
        {
            await Task.Delay(100); // the flood is half-way up before the timing starts
        }

        var flooded = await TimedAsync(timedPort, samples);
        var heldAtEnd = flood.StillOpen();
        stop.Cancel();
        await Task.WhenAll(hammering.Append(opening)).ContinueWith(_ => { });
        flood.Dispose();

        Log($"with flood:    bob's set-up p50 {Percentile(flooded, 50):0.0} ms, p99 {Percentile(flooded, 99):0.0} ms; {flooded.Failures} of {samples} failed");
        Log($"flood: {flood.Attempted} idle connections attempted, {flood.Connected} connected, {heldAtEnd} still held open by the proxy when timing ended, {flood.ConnectFailed} could not connect ({flood.FirstFailure ?? "none"})");
        Log($"loops from one profile: {flood.SetUps} set-ups done, {flood.Refused} refused");
        Log($"process fds at peak: {flood.PeakFds} (hard limit {hard})");
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"flood.setup.p50.ms quiet={Percentile(quiet, 50):0.0} flooded={Percentile(flooded, 50):0.0}; p99 quiet={Percentile(quiet, 99):0.0} flooded={Percentile(flooded, 99):0.0}; idle held={heldAtEnd}/{flood.Attempted}; loop set-ups={flood.SetUps} refused={flood.Refused}"));
        return 0;
    }

    private static async Task<Samples> TimedAsync(int port, int count)
    {
        var result = new Samples();
        for (var i = 0; i < count; i++)
        {
            try
            {
                result.Add(await Load.SetUpMsAsync(port));
            }
            catch (Exception e) when (e is SocketException or InvalidOperationException or OperationCanceledException or IOException)
            {
                result.Failures++;
            }
        }

        return result;
    }

    private static double Percentile(List<double> values, int p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private static int IntArg(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private sealed class Samples : List<double>
    {
        public int Failures { get; set; }
    }

    /// <summary>The attacker: idle connections from 127.0.0.2 on (a new source address every 200), and set-up loops of one profile.</summary>
    private sealed class Flood : IDisposable
    {
        private readonly List<Socket> _sockets = [];
        private long _setUps;
        private long _refused;

        public int Attempted { get; private set; }

        public int Connected { get; private set; }

        public int ConnectFailed { get; private set; }

        public string? FirstFailure { get; private set; }

        public int PeakFds { get; private set; }

        public long SetUps => Interlocked.Read(ref _setUps);

        public long Refused => Interlocked.Read(ref _refused);

        public async Task OpenAsync(HostPort entry, int count, CancellationToken ct)
        {
            var target = new IPEndPoint(IPAddress.Parse(entry.Host), entry.Port);
            for (var i = 0; i < count && !ct.IsCancellationRequested; i++)
            {
                Attempted++;
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(new IPAddress([127, 0, (byte)(1 + (i / 200 / 254)), (byte)(2 + (i / 200 % 254))]), 0));
                    using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    deadline.CancelAfter(TimeSpan.FromSeconds(5));
                    await socket.ConnectAsync(target, deadline.Token);
                    lock (_sockets)
                    {
                        _sockets.Add(socket);
                    }

                    Connected++;
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    ConnectFailed++;
                    FirstFailure ??= e.Message;
                    socket.Dispose();
                    if (e is SocketException { SocketErrorCode: SocketError.TooManyOpenSockets })
                    {
                        break; // this process is out of file descriptors: the flood is as big as it gets
                    }
                }

                if (i % 500 == 0)
                {
                    PeakFds = Math.Max(PeakFds, Fds.Open());
                }
            }

            PeakFds = Math.Max(PeakFds, Fds.Open());
        }

        /// <summary>How many flood connections the proxy has not closed (a zero-byte non-blocking peek tells EOF from idle).</summary>
        public int StillOpen()
        {
            lock (_sockets)
            {
                var open = 0;
                foreach (var socket in _sockets)
                {
                    try
                    {
                        if (!(socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0))
                        {
                            open++;
                        }
                    }
                    catch (SocketException)
                    {
                    }
                }

                return open;
            }
        }

        public async Task LoopAsync(int port, CancellationToken ct)
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await Load.SetUpMsAsync(port);
                    Interlocked.Increment(ref _setUps);
                }
                catch (Exception e) when (e is SocketException or InvalidOperationException or OperationCanceledException or IOException)
                {
                    Interlocked.Increment(ref _refused);
                }
            }
        }

        public void Dispose()
        {
            lock (_sockets)
            {
                _sockets.ForEach(s => s.Dispose());
                _sockets.Clear();
            }
        }
    }
}
