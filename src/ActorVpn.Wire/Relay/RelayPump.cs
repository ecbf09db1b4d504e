using System.Buffers;

namespace ActorVpn.Wire;

/// <summary>Live byte counts of a relay, updated with <see cref="Interlocked"/>; read them with <see cref="Interlocked.Read(ref long)"/>.</summary>
public sealed class RelayCounters
{
    public long BytesAToB;
    public long BytesBToA;
}

/// <summary>How a relay ended. <paramref name="Clean"/>: both directions reached EOF and were half-closed onwards.</summary>
public sealed record RelayOutcome(long BytesAToB, long BytesBToA, bool Clean, string? Error);

/// <summary>
/// Fig. 6 steps 608/609: copies bytes both ways between two ends.
/// <list type="bullet">
/// <item>EOF on one end's read side half-closes the other end's write side; the other direction keeps flowing.
/// When both directions reached EOF the relay is done (<see cref="RelayOutcome.Clean"/>); the ends stay open for the caller to dispose.</item>
/// <item>An error on either side, or cancellation of the token, tears both ends down (TCP reset) and is reported in <see cref="RelayOutcome.Error"/>.</item>
/// <item>Each direction waits with a zero-byte read before renting a pooled buffer (<see cref="BufferSize"/>), so an idle relay holds no buffer.</item>
/// <item>Backpressure: a direction never reads again before its previous write completed (at most one buffer in flight per direction).</item>
/// </list>
/// Never throws for I/O errors.
/// </summary>
public static class RelayPump
{
    public const int BufferSize = 64 * 1024;

    public static async Task<RelayOutcome> RunAsync(DuplexEnd a, DuplexEnd b, RelayCounters counters, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(counters);

        using var relay = new RelayRun(a, b, ct);
        var aToB = PumpAsync(a, b, "a", "b", relay, n => Interlocked.Add(ref counters.BytesAToB, n));
        var bToA = PumpAsync(b, a, "b", "a", relay, n => Interlocked.Add(ref counters.BytesBToA, n));
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
                await source.Stream.ReadAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
                buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                var n = await source.Stream.ReadAsync(buffer.AsMemory(0, BufferSize), token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                stage = "write";
                await target.Stream.WriteAsync(buffer.AsMemory(0, n), token).ConfigureAwait(false);
                await target.Stream.FlushAsync(token).ConfigureAwait(false);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
                total += n;
                count(n);
            }

            stage = "shutdown";
            token.ThrowIfCancellationRequested();
            await target.ShutdownWriteAsync().ConfigureAwait(false);
            return (total, true);
        }
        catch (Exception ex)
        {
            var side = stage == "read" ? from : to;
            relay.Fail(ex, $"{stage} {side} ({from}->{to}) failed: {ex.GetType().Name}: {ex.Message}");
            return (total, false);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
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
