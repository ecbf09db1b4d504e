using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ActorVpn.Wire;

namespace ActorVpn.Bench;

/// <summary>
/// The destination every contender reaches: the first byte picks the mode. <see cref="EchoMode"/> echoes every byte
/// (set-up time); <see cref="SinkMode"/> swallows everything to EOF and answers with the 8-byte count (throughput).
/// </summary>
internal sealed class DualServer : IDisposable
{
    public const byte EchoMode = (byte)'E';
    public const byte SinkMode = (byte)'S';

    private readonly Socket _listener = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();

    public DualServer()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(4096);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _ = AcceptLoop.RunAsync(_listener, s => _ = ServeAsync(s), _stop.Token);
    }

    public int Port { get; }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        socket.NoDelay = true;
        try
        {
            var mode = new byte[1];
            if (await socket.ReceiveAsync(mode, SocketFlags.None, _stop.Token) == 0)
            {
                return;
            }

            if (mode[0] == EchoMode)
            {
                await socket.SendAsync(mode, SocketFlags.None, _stop.Token);
                var buffer = new byte[4096];
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
                }
            }
            else
            {
                var buffer = new byte[256 * 1024];
                long total = 1; // the mode byte
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
                {
                    total += n;
                }

                var count = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(count, total);
                await socket.SendAsync(count, SocketFlags.None, _stop.Token);
            }

            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
    }
}

internal static class Load
{
    /// <summary>The 1-minute load average (other work on a shared machine), as /proc/loadavg says.</summary>
    public static string Average() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static readonly byte[] Chunk = MakeChunk();

    private static byte[] MakeChunk()
    {
        var chunk = new byte[256 * 1024];
        new Random(8).NextBytes(chunk);
        chunk[0] = DualServer.SinkMode;
        return chunk;
    }

    /// <summary>Local connect → one byte echoed by the destination; the connection is closed afterwards.</summary>
    public static async Task<double> SetUpMsAsync(int port)
    {
        var clock = Stopwatch.StartNew();
        using var s = await OpenEchoAsync(port);
        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>An echo-mode session that stays open (first byte echoed, so the whole chain is up).</summary>
    public static async Task<Socket> OpenEchoAsync(int port)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await s.ConnectAsync(IPAddress.Loopback, port, deadline.Token);
            await s.SendAsync(new[] { DualServer.EchoMode }, SocketFlags.None, deadline.Token);
            var one = new byte[1];
            if (await s.ReceiveAsync(one, SocketFlags.None, deadline.Token) != 1 || one[0] != DualServer.EchoMode)
            {
                throw new InvalidOperationException("no echo");
            }

            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="bytes"/> in sink mode, half-closes and waits for the destination's count.</summary>
    public static async Task SendAsync(int port, long bytes)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        using var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(IPAddress.Loopback, port, deadline.Token);
        long sent = 0;
        while (sent < bytes)
        {
            var n = (int)Math.Min(Chunk.Length, bytes - sent);
            await s.SendAsync(Chunk.AsMemory(0, n), SocketFlags.None, deadline.Token);
            sent += n;
        }

        s.Shutdown(SocketShutdown.Send);
        var count = new byte[8];
        var got = 0;
        while (got < 8)
        {
            var n = await s.ReceiveAsync(count.AsMemory(got), SocketFlags.None, deadline.Token);
            if (n == 0)
            {
                throw new InvalidOperationException($"the destination closed after {got} bytes of its count");
            }

            got += n;
        }

        var total = BinaryPrimitives.ReadInt64LittleEndian(count);
        if (total != bytes)
        {
            throw new InvalidOperationException($"sent {bytes} bytes, the destination counted {total}");
        }
    }

    /// <summary>Whole-machine busy CPU seconds so far (/proc/stat, every core).</summary>
    public static double MachineCpuSeconds()
    {
        var line = File.ReadLines("/proc/stat").First();
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
        var busy = fields.Sum() - fields[3] - fields[4]; // minus idle and iowait
        return busy / 100.0; // USER_HZ
    }

    /// <summary>Moves <paramref name="bytes"/> over <paramref name="streams"/> parallel connections: (MiB/s, machine CPU-s per GiB).</summary>
    public static async Task<(double MiBps, double CpuPerGiB)> ThroughputAsync(int port, long bytes, int streams)
    {
        var cpu = MachineCpuSeconds();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, streams).Select(_ => Task.Run(() => SendAsync(port, bytes / streams))));
        var seconds = clock.Elapsed.TotalSeconds;
        var used = MachineCpuSeconds() - cpu;
        var total = bytes / streams * streams;
        return (total / 1048576.0 / seconds, used / (total / 1073741824.0));
    }

    /// <summary>Runs <paramref name="one"/> <paramref name="count"/> times, <paramref name="parallel"/> at a time; returns runs per second.</summary>
    public static async Task<double> ParallelAsync(Func<Task> one, int count, int parallel)
    {
        var next = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                await one();
            }
        })));
        return count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Runs <paramref name="one"/> over and over, <paramref name="parallel"/> at a time, until <paramref name="window"/> has
    /// passed; returns how many runs finished and the time they took (the last runs end a little after the window).</summary>
    public static async Task<(int Runs, TimeSpan Elapsed)> ForAsync(Func<Task> one, TimeSpan window, int parallel)
    {
        var runs = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < window)
            {
                await one();
                Interlocked.Increment(ref runs);
            }
        })));
        return (runs, clock.Elapsed);
    }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
