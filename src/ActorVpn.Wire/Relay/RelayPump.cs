using System.Buffers;
using System.Net.Sockets;
using ActorVpn.Observability.Metrics;

namespace ActorVpn.Wire;

/// <summary>Live byte counts of a relay, updated with <see cref="Interlocked"/>; read them with <see cref="Interlocked.Read(ref long)"/>.</summary>
public sealed class RelayCounters
{
    public long BytesAToB;
    public long BytesBToA;

    /// <summary>Of those, the bytes the kernel moved socket to socket (splice) without copying them through this process.</summary>
    public long BytesSpliced;

    /// <summary>The proxy's byte counter (end a: the client's side), counted with each chunk; null where nothing is metered.</summary>
    public RelayMeter? Meter { get; init; }
}

/// <summary>How a relay ended. <paramref name="Clean"/>: both directions reached EOF and were half-closed onwards.</summary>
public sealed record RelayOutcome(long BytesAToB, long BytesBToA, bool Clean, string? Error);

/// <summary>
/// Fig. 6 steps 608/609: copies bytes both ways between two ends.
/// <list type="bullet">
/// <item>EOF on one end's read side half-closes the other end's write side; the other direction keeps flowing.
/// When both directions reached EOF the relay is done (<see cref="RelayOutcome.Clean"/>); the ends stay open for the caller to dispose.</item>
/// <item>An error on either side, or cancellation of the token, tears both ends down (TCP reset) and is reported in <see cref="RelayOutcome.Error"/>.</item>
/// <item>A direction waits with a zero-byte read, holding no buffer, only after a read that left nothing waiting; while bytes keep
/// arriving it keeps its pooled buffer (<see cref="BufferSize"/>) and fills it before writing, so a TLS end writes full records.</item>
/// <item>Between two raw sockets (a middle proxy, which relays ciphertext it cannot read) on Linux, the kernel moves the bytes
/// with <c>splice(2)</c> through a pooled pipe, held only while bytes flow; elsewhere the relay copies.</item>
/// <item>Backpressure: a direction never reads again before its previous write completed (at most one buffer, or one pipe, in flight per direction).</item>
/// </list>
/// Never throws for I/O errors.
/// </summary>
public static class RelayPump
{
    public const int BufferSize = 64 * 1024;

    /// <param name="splice">Let the kernel move bytes between two raw sockets where it can (false: always copy).</param>
    public static async Task<RelayOutcome> RunAsync(DuplexEnd a, DuplexEnd b, RelayCounters counters, CancellationToken ct, bool splice = true)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(counters);

        using var relay = new RelayRun(a, b, ct);
        var meter = counters.Meter;
        Action<long> countAToB = n =>
        {
            Interlocked.Add(ref counters.BytesAToB, n);
            meter?.TowardsDestination(n);
        };
        Action<long> countBToA = n =>
        {
            Interlocked.Add(ref counters.BytesBToA, n);
            meter?.TowardsClient(n);
        };
        var kernel = splice && a.IsRawSocket && b.IsRawSocket && KernelSplice.IsSupported;
        var aToB = kernel
            ? SpliceAsync(a, b, "a", "b", relay, countAToB, counters)
            : PumpAsync(a, b, "a", "b", relay, countAToB);
        var bToA = kernel
            ? SpliceAsync(b, a, "b", "a", relay, countBToA, counters)
            : PumpAsync(b, a, "b", "a", relay, countBToA);
        var results = await Task.WhenAll(aToB, bToA).ConfigureAwait(false);

        var error = relay.Error;
        if (error is null && ct.IsCancellationRequested && !(results[0].Finished && results[1].Finished))
        {
            error = "cancelled";
        }

        return new RelayOutcome(results[0].Bytes, results[1].Bytes, error is null, error);
    }

    private static async Task<(long Bytes, bool Finished)> PumpAsync(
        DuplexEnd source, DuplexEnd target, string from, string to, RelayRun relay, Action<long> count)
    {
        var token = relay.Token;
        var total = 0L;
        var stage = "read";
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                stage = "read";
                if (buffer is null)
                {
                    // Nothing was waiting after the last read: wait for bytes without holding a buffer, so an idle relay holds none.
                    await source.Stream.ReadAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
                    buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                }

                var n = await source.Stream.ReadAsync(buffer.AsMemory(0, BufferSize), token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                // Fill the buffer with what has already arrived: fewer, larger writes (full TLS records at a TLS end).
                var eof = false;
                while (n < BufferSize && source.DataWaiting)
                {
                    var more = await source.Stream.ReadAsync(buffer.AsMemory(n, BufferSize - n), token).ConfigureAwait(false);
                    if (more == 0)
                    {
                        eof = true;
                        break;
                    }

                    n += more;
                }

                stage = "write";
                await target.Stream.WriteAsync(buffer.AsMemory(0, n), token).ConfigureAwait(false);
                if (target.Socket is null)
                {
                    await target.Stream.FlushAsync(token).ConfigureAwait(false);
                }

                total += n;
                count(n);
                if (eof)
                {
                    break;
                }

                if (!source.DataWaiting)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }

            stage = "shutdown";
            await EndOfStreamAsync(target, token).ConfigureAwait(false);
            return (total, true);
        }
        catch (Exception ex)
        {
            relay.Fail(ex, stage, from, to);
            return (total, false);
        }
        finally
        {
            ReturnToPool(buffer);
        }
    }

    private static async Task<(long Bytes, bool Finished)> SpliceAsync(
        DuplexEnd source, DuplexEnd target, string from, string to, RelayRun relay, Action<long> count, RelayCounters counters)
    {
        var token = relay.Token;
        var (input, output) = (source.Socket!, target.Socket!);
        var total = 0L;
        var stage = "read";
        KernelSplice.Pipe? pipe = null;
        var pipeDirty = false;
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                stage = "read";
                if (pipe is null)
                {
                    // Wait for bytes holding no pipe, so an idle relay holds none.
                    await input.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, token).ConfigureAwait(false);
                    if (total == 0 && !KernelSplice.Usable(input, output))
                    {
                        // Both directions have started async I/O by now, which puts a socket in non-blocking mode; one that is
                        // still blocking would stall a thread in splice, so this direction copies instead.
                        return await PumpAsync(source, target, from, to, relay, count).ConfigureAwait(false);
                    }

                    pipe = KernelSplice.Rent();
                }

                token.ThrowIfCancellationRequested();
                var n = KernelSplice.Fill(input, pipe);
                if (n < 0)
                {
                    // The read would have blocked: give the (empty) pipe back and wait.
                    KernelSplice.Return(pipe);
                    pipe = null;
                    continue;
                }

                if (n == 0)
                {
                    break;
                }

                stage = "write";
                pipeDirty = true;
                var left = n;
                while (left > 0)
                {
                    token.ThrowIfCancellationRequested();
                    var moved = KernelSplice.Drain(pipe, output, left);
                    if (moved > 0)
                    {
                        left -= moved;
                        Interlocked.Add(ref counters.BytesSpliced, moved);
                        continue;
                    }

                    // The target's send buffer is full: take a buffer's worth out of the pipe and let the runtime wait for room.
                    buffer ??= ArrayPool<byte>.Shared.Rent(BufferSize);
                    var taken = KernelSplice.Take(pipe, buffer.AsSpan(0, Math.Min(left, BufferSize)));
                    await target.Stream.WriteAsync(buffer.AsMemory(0, taken), token).ConfigureAwait(false);
                    left -= taken;
                }

                pipeDirty = false;
                total += n;
                count(n);
                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }

            KernelSplice.Return(pipe);
            pipe = null;
            stage = "shutdown";
            await EndOfStreamAsync(target, token).ConfigureAwait(false);
            return (total, true);
        }
        catch (Exception ex)
        {
            relay.Fail(ex, stage, from, to);
            return (total, false);
        }
        finally
        {
            ReturnToPool(buffer);

            if (pipe is not null)
            {
                // A pipe that may still hold bytes of this relay never goes back to the pool.
                if (pipeDirty)
                {
                    pipe.Dispose();
                }
                else
                {
                    KernelSplice.Return(pipe);
                }
            }
        }
    }

    /// <summary>The source ended cleanly: pass its end on to the target (a half-close), unless the relay is being torn down.</summary>
    private static async Task EndOfStreamAsync(DuplexEnd target, CancellationToken token)
    {
        token.ThrowIfCancellationRequested();
        await target.ShutdownWriteAsync().ConfigureAwait(false);
    }

    private static void ReturnToPool(byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed class RelayRun : IDisposable
    {
        private readonly DuplexEnd _a;
        private readonly DuplexEnd _b;
        private readonly CancellationToken _outer;
        private readonly CancellationTokenSource _cts;
        private readonly CancellationTokenRegistration _registration;
        private int _tornDown;
        private string? _error;

        public RelayRun(DuplexEnd a, DuplexEnd b, CancellationToken outer)
        {
            _a = a;
            _b = b;
            _outer = outer;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
            _registration = _cts.Token.Register(TearDown);
        }

        public CancellationToken Token => _cts.Token;

        public string? Error => Volatile.Read(ref _error);

        /// <summary>Records the first failure and tears both ends down. Failures caused by the teardown itself are not reported.</summary>
        /// <summary>The direction <paramref name="from"/> to <paramref name="to"/> failed at <paramref name="stage"/>: a read
        /// fails at the source's side, a write or the shutdown at the target's.</summary>
        public void Fail(Exception ex, string stage, string from, string to)
        {
            var side = stage == "read" ? from : to;
            Fail(ex, $"{stage} {side} ({from}->{to}) failed: {ex.GetType().Name}: {ex.Message}");
        }

        public void Fail(Exception ex, string description)
        {
            if (Volatile.Read(ref _tornDown) == 0)
            {
                var cause = ex is OperationCanceledException && _outer.IsCancellationRequested ? "cancelled" : description;
                Interlocked.CompareExchange(ref _error, cause, null);
            }
            else if (_outer.IsCancellationRequested)
            {
                Interlocked.CompareExchange(ref _error, "cancelled", null);
            }

            TearDown();
        }

        private void TearDown()
        {
            if (Interlocked.Exchange(ref _tornDown, 1) != 0)
            {
                return;
            }

            if (_outer.IsCancellationRequested)
            {
                Interlocked.CompareExchange(ref _error, "cancelled", null);
            }

            _a.Abort();
            _b.Abort();
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The run already finished.
            }
        }

        public void Dispose()
        {
            _registration.Dispose();
            _cts.Dispose();
        }
    }
}
