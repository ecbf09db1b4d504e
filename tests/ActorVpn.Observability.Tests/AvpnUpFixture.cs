using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using ActorVpn.Client;
using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.Testing;
using ActorVpn.Topology;
using Xunit;

namespace ActorVpn.Observability.Tests;

/// <summary>
/// The built <c>avpn up</c> on the patent's example, with metrics, JSON logs and console traces on, after one session of
/// <see cref="SessionBytes"/> each way through the chain and one connection refused at proxy1 (not TLS at all).
/// </summary>
public sealed class AvpnUpFixture : IAsyncLifetime
{
    public const int SessionBytes = 64 * 1024;

    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"avpn-obs-{Guid.NewGuid():N}");
    private EchoServer? _destination;

    public AvpnProcess Avpn { get; private set; } = null!;

    public Uri Metrics { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _destination = new EchoServer(new HostPort("127.0.0.1", 0));
        var topology = ExampleTopology.Text
            .Replace("127.0.0.1:9000", _destination.Address.ToString(), StringComparison.Ordinal)
            .Replace("127.0.0.1:7101", $"127.0.0.1:{FreePorts.Take()}", StringComparison.Ordinal)
            .Replace("127.0.0.1:7102", $"127.0.0.1:{FreePorts.Take()}", StringComparison.Ordinal)
            .Replace("127.0.0.1:7103", $"127.0.0.1:{FreePorts.Take()}", StringComparison.Ordinal);
        var topologyFile = Path.Combine(_directory, "topology.hocon");
        await File.WriteAllTextAsync(topologyFile, topology);
        var data = Path.Combine(_directory, "data");
        var metricsPort = FreePorts.Take();
        Metrics = new Uri($"http://127.0.0.1:{metricsPort}/metrics");

        Avpn = AvpnProcess.Start(
            ["up", "--topology", topologyFile, "--data", data, "--console", $"127.0.0.1:{FreePorts.Take()}", "--metrics", $"127.0.0.1:{metricsPort}"],
            new Dictionary<string, string> { ["AVPN_LOG_FORMAT"] = "json", ["AVPN_TRACES"] = "console" });
        await Avpn.AwaitLineAsync("ready", Deadline);

        // One session: 64 KiB to the echo destination and back, then closed.
        var profile = ClientProfile.Load(Path.Combine(data, "profiles", "alice.avpn"));
        using var deadline = new CancellationTokenSource(Deadline);
        using (var chain = await ChainDialer.BuildAsync(profile, "server", TimeSpan.FromSeconds(10), TimeProvider.System, deadline.Token))
        {
            var payload = RandomNumberGenerator.GetBytes(SessionBytes);
            var sending = chain.Tls.WriteAsync(payload, deadline.Token).AsTask();
            var echoed = new byte[SessionBytes];
            await chain.Tls.ReadExactlyAsync(echoed, deadline.Token);
            await sending;
            Assert.Equal(payload, echoed);
        }

        // A connection that never speaks TLS: refused at proxy1's handshake.
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(HostPort.Parse(profile.Entries["server"].Address).Host, HostPort.Parse(profile.Entries["server"].Address).Port, deadline.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.0\r\n\r\n"), deadline.Token);
        var buffer = new byte[1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, deadline.Token) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // reset: closed all the same
        }
    }

    public async Task DisposeAsync()
    {
        Avpn.Terminate();
        await Avpn.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Avpn.Dispose();
        if (_destination is not null)
        {
            await _destination.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Polls <paramref name="read"/> until <paramref name="done"/> holds for its value (the process works on its own time).</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"{what} within {Deadline.TotalSeconds:0} s; last seen:\n{value}");
            }

            await Task.Delay(100); // polling a process, not a timed assertion
        }
    }
}
