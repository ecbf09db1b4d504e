using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Xunit;

namespace ActorVpn.Wire.Tests;

public class RelayPumpTests
{
    [Fact]
    public async Task Eight_MiB_each_way_arrive_byte_for_byte_and_the_relay_ends_clean()
    {
        // Copying through this process (splice off): the path every TLS end takes.
        const int size = 8 * 1024 * 1024;
        var (outcome, counters) = await RelayBothWaysAsync(size, splice: false);

        Assert.Equal(new RelayOutcome(size, size, true, null), outcome);
        Assert.Equal(size, Interlocked.Read(ref counters.BytesAToB));
        Assert.Equal(size, Interlocked.Read(ref counters.BytesBToA));
        Assert.Equal(0, Interlocked.Read(ref counters.BytesSpliced));
    }

    [Fact]
    public async Task A_half_close_propagates_and_the_reply_still_arrives()
    {
        var ct = Guard.Token();
        using var left = await SocketPair.CreateAsync();
        using var right = await SocketPair.CreateAsync();
        var relay = RelayPump.RunAsync(DuplexEnd.ForSocket(left.Server), DuplexEnd.ForSocket(right.Server), new RelayCounters(), ct);
        await using var client = new NetworkStream(left.Client);
        await using var server = new NetworkStream(right.Client);

        await client.WriteAsync("request"u8.ToArray(), ct);
        left.Client.Shutdown(SocketShutdown.Send);

        // The server sees the whole request and then EOF, while its own write side is still open.
        Assert.Equal("request", Encoding.ASCII.GetString(await StreamTools.ReadToEndAsync(server, ct)));
        await server.WriteAsync("reply after the client's EOF"u8.ToArray(), ct);
        right.Client.Shutdown(SocketShutdown.Send);

        Assert.Equal("reply after the client's EOF", Encoding.ASCII.GetString(await StreamTools.ReadToEndAsync(client, ct)));
        var outcome = await relay;
        Assert.True(outcome.Clean, outcome.Error);
        Assert.Equal(7, outcome.BytesAToB);
        Assert.Equal(28, outcome.BytesBToA);
    }

    [Fact]
    public async Task An_error_on_one_side_tears_down_both_and_is_reported()
    {
        var ct = Guard.Token();
        using var left = await SocketPair.CreateAsync();
        using var right = await SocketPair.CreateAsync();
        var relay = RelayPump.RunAsync(DuplexEnd.ForSocket(left.Server), DuplexEnd.ForSocket(right.Server), new RelayCounters(), ct);
        await using var client = new NetworkStream(left.Client);

        // Traffic flows first.
        await client.WriteAsync("hello"u8.ToArray(), ct);
        var hello = new byte[5];
        await right.Client.ReceiveAsync(hello, ct);
        Assert.Equal("hello", Encoding.ASCII.GetString(hello));

        // The right side's peer resets its connection.
        right.Client.LingerState = new LingerOption(true, 0);
        right.Client.Close();

        var outcome = await relay;
        Assert.False(outcome.Clean);
        Assert.NotNull(outcome.Error);

        // The left side is torn down (reset), not merely half-closed: a read fails instead of returning EOF.
        await Assert.ThrowsAnyAsync<IOException>(async () => await StreamTools.ReadToEndAsync(client, ct));
    }

    [Fact]
    public async Task Cancellation_tears_down_both_sides()
    {
        var ct = Guard.Token();
        using var left = await SocketPair.CreateAsync();
        using var right = await SocketPair.CreateAsync();
        using var cancel = new CancellationTokenSource();
        var relay = RelayPump.RunAsync(DuplexEnd.ForSocket(left.Server), DuplexEnd.ForSocket(right.Server), new RelayCounters(), cancel.Token);
        await using var client = new NetworkStream(left.Client);
        await using var server = new NetworkStream(right.Client);
        await client.WriteAsync("x"u8.ToArray(), ct);
        Assert.Equal(1, await server.ReadAsync(new byte[1], ct));

        await cancel.CancelAsync();
        var outcome = await relay;

        Assert.Equal(new RelayOutcome(1, 0, false, "cancelled"), outcome);
        await Assert.ThrowsAnyAsync<IOException>(async () => await StreamTools.ReadToEndAsync(client, ct));
        await Assert.ThrowsAnyAsync<IOException>(async () => await StreamTools.ReadToEndAsync(server, ct));
    }

    [Fact]
    public async Task A_slow_reader_holds_the_pump_at_one_buffer_in_flight()
    {
        var ct = Guard.Token();
        var sink = new GatedSink();
        var source = new EndlessSource(sink);
        using var cancel = new CancellationTokenSource();
        var relay = RelayPump.RunAsync(new DuplexEnd(source, () => ValueTask.CompletedTask), new DuplexEnd(sink, () => ValueTask.CompletedTask), new RelayCounters(), cancel.Token);

        for (var i = 1; i <= 50; i++)
        {
            // The reader is not reading: the pump's write is pending. Everything taken from the source is in that write.
            var write = await sink.Pending.Reader.ReadAsync(ct);
            Assert.Equal(source.BytesRead, sink.BytesOffered);
            Assert.InRange(source.BytesRead, 1, (long)i * RelayPump.BufferSize);
            write.SetResult();
        }

        await sink.Pending.Reader.ReadAsync(ct);
        await cancel.CancelAsync();
        var outcome = await relay;

        Assert.Equal(0, source.ReadsWhileAWriteWasPending);
        Assert.False(outcome.Clean);
        Assert.Equal(sink.BytesWritten, outcome.BytesAToB);
    }

    [Fact]
    public async Task A_zero_byte_wait_comes_only_after_a_read_that_left_nothing_waiting_so_an_idle_relay_holds_no_buffer()
    {
        var ct = Guard.Token();

        // Two bursts: within a burst the next bytes have already arrived; between bursts a read would block.
        var source = new ScriptedSource([new byte[10], new byte[70_000], new byte[3], ScriptedSource.Pause, new byte[5], new byte[6]]);
        var target = new RecordingSink();
        var outcome = await RelayPump.RunAsync(
            new DuplexEnd(source, () => ValueTask.CompletedTask, () => source.DataWaiting),
            new DuplexEnd(target, () => ValueTask.CompletedTask),
            new RelayCounters(),
            ct);

        Assert.True(outcome.Clean, outcome.Error);
        Assert.Equal(70_024, target.Bytes.Count);

        // One zero-byte wait before each burst (and one before EOF), none while bytes keep arriving.
        Assert.Equal(3, source.RequestedLengths.Count(length => length == 0));
        Assert.Equal(0, source.RequestedLengths[0]);

        // The buffer is filled with what has arrived before it is written: full buffers (full TLS records at a TLS end), then the rest.
        Assert.Equal([RelayPump.BufferSize, 70_013 - RelayPump.BufferSize, 11], target.Writes);
    }

    [Fact]
    public async Task Between_two_raw_sockets_the_kernel_moves_the_bytes_intact()
    {
        var (outcome, counters) = await RelayBothWaysAsync(8 * 1024 * 1024, splice: true);

        Assert.True(outcome.Clean, outcome.Error);

        // On Linux the kernel path was taken: bytes moved socket to socket without a copy through this process.
        // splice(2) is Linux only; elsewhere the relay copies.
        Assert.Equal(OperatingSystem.IsLinux(), Interlocked.Read(ref counters.BytesSpliced) > 0);
    }

    /// <summary>Relays <paramref name="size"/> random bytes each way between two loopback TCP pairs and checks them by hash.</summary>
    private static async Task<(RelayOutcome Outcome, RelayCounters Counters)> RelayBothWaysAsync(int size, bool splice)
    {
        var ct = Guard.Token();
        using var left = await SocketPair.CreateAsync();
        using var right = await SocketPair.CreateAsync();
        var counters = new RelayCounters();
        var relay = RelayPump.RunAsync(DuplexEnd.ForSocket(left.Server), DuplexEnd.ForSocket(right.Server), counters, ct, splice);

        var toRight = StreamTools.RandomBytes(3, size);
        var toLeft = StreamTools.RandomBytes(4, size);
        await using var leftStream = new NetworkStream(left.Client);
        await using var rightStream = new NetworkStream(right.Client);
        var sendRight = Task.Run(async () =>
        {
            await StreamTools.WriteChunkedAsync(leftStream, toRight, ct);
            left.Client.Shutdown(SocketShutdown.Send);
        });
        var sendLeft = Task.Run(async () =>
        {
            await StreamTools.WriteChunkedAsync(rightStream, toLeft, ct);
            right.Client.Shutdown(SocketShutdown.Send);
        });
        var receivedRight = StreamTools.HashToEndAsync(rightStream, ct);
        var receivedLeft = StreamTools.HashToEndAsync(leftStream, ct);
        await Task.WhenAll(sendRight, sendLeft);

        Assert.Equal(System.Security.Cryptography.SHA256.HashData(toRight), (await receivedRight).Hash);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(toLeft), (await receivedLeft).Hash);
        var outcome = await relay;
        Assert.Equal(size, outcome.BytesAToB);
        Assert.Equal(size, outcome.BytesBToA);
        return (outcome, counters);
    }

    /// <summary>A source that always has data at once and notes reads made while a write to the sink is pending.</summary>
    private sealed class EndlessSource(GatedSink sink) : TestStream
    {
        private long _bytesRead;
        private int _readsWhileAWriteWasPending;

        public long BytesRead => Interlocked.Read(ref _bytesRead);

        public int ReadsWhileAWriteWasPending => Volatile.Read(ref _readsWhileAWriteWasPending);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (buffer.IsEmpty)
            {
                return ValueTask.FromResult(0);
            }

            if (sink.WritePending)
            {
                Interlocked.Increment(ref _readsWhileAWriteWasPending);
            }

            buffer.Span.Fill(0x5A);
            Interlocked.Add(ref _bytesRead, buffer.Length);
            return ValueTask.FromResult(buffer.Length);
        }
    }

    /// <summary>A destination whose reader reads only when the test says so; its own read side stays idle.</summary>
    private sealed class GatedSink : TestStream
    {
        private long _bytesOffered;
        private long _bytesWritten;
        private int _writePending;

        public Channel<TaskCompletionSource> Pending { get; } = Channel.CreateUnbounded<TaskCompletionSource>();

        public long BytesOffered => Interlocked.Read(ref _bytesOffered);

        public long BytesWritten => Interlocked.Read(ref _bytesWritten);

        public bool WritePending => Volatile.Read(ref _writePending) == 1;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Volatile.Write(ref _writePending, 1);
            Interlocked.Add(ref _bytesOffered, buffer.Length);
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Pending.Writer.TryWrite(release);
            await release.Task.WaitAsync(cancellationToken);
            Interlocked.Add(ref _bytesWritten, buffer.Length);
            Volatile.Write(ref _writePending, 0);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
    }

    /// <summary>
    /// Returns the scripted chunks, then EOF, and records the length of every read request. Chunks up to a <see cref="Pause"/>
    /// have "already arrived" (<see cref="DataWaiting"/>); a zero-byte read waits past the pause.
    /// </summary>
    private sealed class ScriptedSource(IEnumerable<byte[]> chunks) : TestStream
    {
        public static readonly byte[] Pause = [];

        private readonly Queue<byte[]> _chunks = new(chunks);
        private byte[] _current = [];
        private int _offset;

        public List<int> RequestedLengths { get; } = [];

        public bool DataWaiting => _offset < _current.Length || (_chunks.Count > 0 && !ReferenceEquals(_chunks.Peek(), Pause));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            RequestedLengths.Add(buffer.Length);
            if (_offset == _current.Length && _chunks.Count > 0 && ReferenceEquals(_chunks.Peek(), Pause))
            {
                if (!buffer.IsEmpty)
                {
                    throw new InvalidOperationException("a read with a buffer where the relay should have waited");
                }

                _chunks.Dequeue();
            }

            if (_offset == _current.Length && _chunks.Count > 0 && !buffer.IsEmpty)
            {
                _current = _chunks.Dequeue();
                _offset = 0;
            }

            var n = Math.Min(buffer.Length, _current.Length - _offset);
            _current.AsSpan(_offset, n).CopyTo(buffer.Span);
            _offset += n;
            return ValueTask.FromResult(n);
        }
    }

    /// <summary>Records the size of every write.</summary>
    private sealed class RecordingSink : TestStream
    {
        public List<int> Writes { get; } = [];

        public List<byte> Bytes { get; } = [];

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes.Add(buffer.Length);
            Bytes.AddRange(buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);
    }

    private abstract class TestStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
