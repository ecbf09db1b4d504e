using System.Collections.Immutable;
using System.Diagnostics;
using ActorVpn.Observability.Metrics;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;

namespace ActorVpn.Hosting;

/// <summary>
/// The SQL journal (hocon/persistence.*.hocon), timing every write batch into <c>db.client.operation.duration</c> and
/// counting the failed ones: an auth server stops on a failed write (fail closed), so these are the store's health as
/// the auth servers see it.
/// </summary>
public sealed class MeteredSqlJournal(Config config) : SqlWriteJournal(config)
{
    private readonly KeyValuePair<string, object?> _system = new(VpnMetrics.DbSystem,
        config.GetString("provider-name", string.Empty).StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase) ? "postgresql" : "sqlite");

    private static readonly KeyValuePair<string, object?> Write = new(VpnMetrics.DbOperation, "write");

    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            // The base class starts the write synchronously, on this actor's turn, as it requires.
            var results = await base.WriteMessagesAsync(messages, cancellationToken);
            var rejected = results?.Count(r => r is not null) ?? 0;
            Record(started, rejected > 0 ? "rejected" : null, rejected);
            return results!;
        }
        catch (Exception e)
        {
            Record(started, e.GetType().Name, 1);
            throw;
        }
    }

    private void Record(long started, string? error, int failures)
    {
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (error is null)
        {
            VpnMetrics.StoreWriteDuration.Record(seconds, _system, Write);
            return;
        }

        VpnMetrics.StoreWriteDuration.Record(seconds, _system, Write, new KeyValuePair<string, object?>(VpnMetrics.ErrorType, error));
        VpnMetrics.StoreWriteFailures.Add(failures, _system);
    }
}
