using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorVpn.Hosting.Audit;

/// <summary>What <c>audit query</c> selects.</summary>
/// <param name="User">One user's records (its tag), or every record when null.</param>
/// <param name="Outcome"><c>ok</c> or <c>error</c>; null for every outcome.</param>
public sealed record AuditFilter(string? User, DateTimeOffset Since, DateTimeOffset? Until, string? Outcome, int Limit)
{
    public bool Matches(AuditRecord r) =>
        (User is null || r.User == User) && r.At >= Since && (Until is null || r.At <= Until) && (Outcome is null || r.Outcome == Outcome);
}

/// <summary>Records read from the trail, oldest first; <paramref name="Truncated"/> when more matched than the limit.</summary>
public sealed record AuditPage(IReadOnlyList<AuditRecord> Records, bool Truncated, AuditPosition Position);

/// <summary>
/// Reads the audit trail without loading it: Akka.Persistence.Query's SQL read journal
/// (<c>akka.persistence.query.journal.sql</c>) streams only the rows asked for. With the volatile
/// in-memory store (route trace, tests that do not test durability) there is no read journal: the
/// records this process wrote recently (<see cref="AuditPosition.Recent"/>) are the trail.
/// </summary>
public sealed class AuditReader(ActorSystem system, TimeSpan timeout)
{
    public const string ReadJournalId = "akka.persistence.query.journal.sql";

    private bool Durable => DurableStore.StoreOf(system.Settings.Config) != DurableStore.Memory;

    public async Task<AuditPosition> PositionAsync() =>
        await system.ActorSelection($"/user/{AuditLog.Name}").Ask<AuditPosition>(GetAuditPosition.Instance, timeout);

    /// <summary><c>audit tail</c>: the last <paramref name="lines"/> records, by sequence number (no scan of older ones).</summary>
    public async Task<AuditPage> TailAsync(int lines)
    {
        var position = await PositionAsync();
        if (!Durable)
        {
            return new AuditPage(position.Recent.TakeLast(lines).ToList(), position.Recent.Count > lines, position);
        }

        var from = Math.Max(1, position.HighestSequenceNr - lines + 1);
        var journal = PersistenceQuery.Get(system).ReadJournalFor<ICurrentEventsByPersistenceIdQuery>(ReadJournalId);
        var records = await RunAsync(journal.CurrentEventsByPersistenceId(position.PersistenceId, from, position.HighestSequenceNr), lines);
        return new AuditPage(records, from > 1, position);
    }

    /// <summary>
    /// <c>audit query</c>: one user's tag stream (or the whole trail's), in write order, filtered as
    /// it streams and cut off at <see cref="AuditFilter.Limit"/> matches or at the first record
    /// after <see cref="AuditFilter.Until"/> (records are appended in time order).
    /// </summary>
    public async Task<AuditPage> QueryAsync(AuditFilter filter)
    {
        var position = await PositionAsync();
        if (!Durable)
        {
            var matched = position.Recent.Where(filter.Matches).ToList();
            return new AuditPage(matched.Take(filter.Limit).ToList(), matched.Count > filter.Limit, position);
        }

        var journal = PersistenceQuery.Get(system).ReadJournalFor<ICurrentEventsByTagQuery>(ReadJournalId);
        var tag = filter.User is null ? AuditRecord.TrailTag : AuditRecord.UserTag(filter.User);
        var until = filter.Until;
        var source = journal.CurrentEventsByTag(tag, Offset.NoOffset())
            .Where(e => e.Event is AuditRecord)
            .Select(e => (AuditRecord)e.Event)
            .Where(FirstSighting())
            // an admin action is recorded 'started' before it is carried out: at most a little older than the next record
            .TakeWhile(r => until is null || r.Start <= until.Value)
            .Where(filter.Matches)
            .Take(filter.Limit + 1);
        var records = await source.RunWith(Sink.Seq<AuditRecord>(), system.Materializer()).WaitAsync(timeout);
        return new AuditPage(records.Take(filter.Limit).ToList(), records.Count > filter.Limit, position);
    }

    private async Task<IReadOnlyList<AuditRecord>> RunAsync(Source<EventEnvelope, Akka.NotUsed> source, int limit) =>
        (await source.Where(e => e.Event is AuditRecord).Select(e => (AuditRecord)e.Event).Where(FirstSighting()).Take(limit).RunWith(Sink.Seq<AuditRecord>(), system.Materializer()).WaitAsync(timeout)).ToList();

    /// <summary>A filter that passes each record the first time it is seen (by <see cref="AuditRecord.Identity"/>): one per read.</summary>
    private static Predicate<AuditRecord> FirstSighting()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return record => seen.Add(record.Identity);
    }
}
