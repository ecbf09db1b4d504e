using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.Wire;

namespace ActorVpn.Bench;

/// <summary>
/// The floor under every set-up figure: what the three TLS 1.3 handshakes a set-up needs cost on this machine by themselves.
/// A client makes three TCP connections in turn, each to its own TLS endpoint, and on each does the handshake with the shipped
/// settings (<see cref="TlsHop"/>: TLS 1.3 only, mutual certificates, the per-hop server name that lets a returning client resume,
/// the pin check) and one request and answer of one byte. No relaying, no nesting, no auth servers, no actors: an ActorVpn set-up
/// does all of this and more, so it cannot be faster or cheaper than this. The client and the three endpoints run in this one
/// process (child mode <c>--tls-floor</c>), started with the runtime settings <c>avpn</c> ships.
/// </summary>
internal static class TlsFloor
{
    private const int Hops = 3;

    /// <summary>Child mode: warms up, prints "ready", then answers each "measure SEQUENTIAL PARALLEL" line with one result line.</summary>
    public static async Task<int> ServeAsync()
    {
        using var server = MakeCertificate("floor-proxy");
        using var client = MakeCertificate("floor-client");
        var pin = TlsHop.SpkiPin(server);
        var listeners = Enumerable.Range(0, Hops).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        using var stop = new CancellationTokenSource();
        foreach (var listener in listeners)
        {
            listener.Start(1024);
            _ = AcceptLoopAsync(listener, server, stop.Token);
        }

        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        Func<Task> set = () => SetAsync(ports, client, pin);
        await Load.ParallelAsync(set, 1500, 20); // until tiered compilation settles, as the shipped processes are warmed
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        using var self = Process.GetCurrentProcess();
        while (await Console.In.ReadLineAsync() is { } line)
        {
            var parts = line.Split(' ');
            if (parts is not ["measure", var seqText, var parText])
            {
                continue;
            }

            var (sequential, parallel) = (int.Parse(seqText, CultureInfo.InvariantCulture), int.Parse(parText, CultureInfo.InvariantCulture));
            var times = new List<double>();
            self.Refresh();
            var cpu0 = self.TotalProcessorTime;
            for (var i = 0; i < sequential; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await set();
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            self.Refresh();
            var cpu1 = self.TotalProcessorTime;
            var perSecond = await Load.ParallelAsync(set, parallel, 20);
            self.Refresh();
            var cpu2 = self.TotalProcessorTime;
            Console.Out.WriteLine(FormattableString.Invariant(
                $"{Load.Median(times)} {(cpu1 - cpu0).TotalMilliseconds / sequential} {perSecond} {(cpu2 - cpu1).TotalMilliseconds / parallel}"));
            Console.Out.Flush();
        }

        await stop.CancelAsync();
        foreach (var listener in listeners)
        {
            listener.Stop();
        }

        return 0;
    }

    /// <summary>One set: the three handshakes in turn, each with its request and answer, as a set-up does them.</summary>
    private static async Task SetAsync(int[] ports, X509Certificate2 client, string pin)
    {
        for (var hop = 0; hop < ports.Length; hop++)
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(IPAddress.Loopback, ports[hop]);
            await using var transport = new NetworkStream(socket, ownsSocket: false);
            await using var tls = await TlsHop.ConnectAsync(transport, TlsHop.ServerNameForHop(hop), client,
                presented => TlsHop.SpkiPin(presented) == pin, CancellationToken.None);
            await tls.WriteAsync(new byte[] { 1 });
            var answer = new byte[1];
            await tls.ReadExactlyAsync(answer);
        }
    }

    private static async Task AcceptLoopAsync(TcpListener listener, X509Certificate2 certificate, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (socket)
                {
                    socket.NoDelay = true;
                    await using var transport = new NetworkStream(socket, ownsSocket: false);
                    try
                    {
                        var (tls, _) = await TlsHop.AcceptAsync(transport, certificate, ct);
                        await using (tls)
                        {
                            var request = new byte[1];
                            await tls.ReadExactlyAsync(request, ct);
                            await tls.WriteAsync(request, ct);
                            await tls.FlushAsync(ct);
                            _ = await tls.ReadAsync(request, ct); // the client's close
                        }
                    }
                    catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                    {
                        // A set the client abandoned; the next one starts afresh.
                    }
                }
            }, CancellationToken.None);
        }
    }

    // P-256 like every ActorVpn identity; self-signed, as the pin (not a chain) is what the client checks.
    private static X509Certificate2 MakeCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}

/// <summary>The <see cref="TlsFloor"/> child process, measured on demand, once per round, beside the contenders.</summary>
internal sealed class TlsFloorProcess : IDisposable
{
    private readonly Process _process;

    private TlsFloorProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public static async Task<TlsFloorProcess> StartAsync()
    {
        // The thread-pool setting avpn ships in its runtimeconfig (docs/runtime-settings.md), so the floor runs as avpn would.
        Environment.SetEnvironmentVariable("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "0");
        var process = Outside.Start("--tls-floor");
        Environment.SetEnvironmentVariable("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", null);
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var line = await process.StandardOutput.ReadLineAsync(deadline.Token);
        return line == "ready" ? new TlsFloorProcess(process) : throw new InvalidOperationException($"the TLS floor process did not start: {line}");
    }

    /// <summary>p50 of sequential sets (ms), CPU-ms per sequential set, sets/s with 20 in parallel, CPU-ms per parallel set.</summary>
    public async Task<(double P50, double SequentialCpu, double PerSecond, double ParallelCpu)> MeasureAsync(int sequential, int parallel)
    {
        await _process.StandardInput.WriteLineAsync(FormattableString.Invariant($"measure {sequential} {parallel}"));
        await _process.StandardInput.FlushAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var line = await _process.StandardOutput.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("the TLS floor process ended");
        var v = line.Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return (v[0], v[1], v[2], v[3]);
    }

    public void Dispose()
    {
        Procs.Stop(_process);
        _process.Dispose();
    }
}
