using System.Security.Cryptography;
using ActorVpn.Proxies;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorVpn.Hosting.Audit;

/// <summary>
/// The audit trail of one node (<c>/user/audit</c>): every session attempt the entry
/// proxies publish (<see cref="SessionAttemptObserved"/>) and every operator action, written
/// durably through Akka.Persistence.Sql by a child <see cref="AuditJournal"/> under one
/// persistence id, each record tagged <c>audit</c> and <c>audit-user-NAME</c>.
///
/// Scale: nothing is replayed into memory. The journal actor recovers with
/// <see cref="Recovery.None"/> (only the highest sequence number is read, not the events), and
/// the console reads the trail through Akka.Persistence.Query (<see cref="AuditReader"/>): the
/// last N by sequence number for <c>audit tail</c>, one user's tag stream for <c>audit query</c>,
/// both streamed and bounded by the number of lines asked for.
///
/// Failure: admin actions fail closed. A record is written, and confirmed, before the action is
/// carried out; while the store does not confirm writes the action is refused at once with
/// <c>store-unavailable</c>. Sessions are not held up by the trail (the hand-off must not wait on
/// an audit write): their records wait here, unconfirmed, and are written again when the journal
/// is back. If more than <c>actorvpn.audit.max-pending</c> pile up during an outage, the oldest is
/// dropped and logged in full at error level, and counted (<c>audit tail</c> shows it): never
/// silently lost.
///
/// Unauthenticated failures (<see cref="UnauthenticatedAttemptObserved"/>) are anyone's to cause, so they are aggregated
/// (<see cref="UnauthenticatedAggregate"/>): one record per proxy, peer address and certificate per window, at most
/// <c>max-sources</c> of them and one summary per window, so a flood cannot grow the store without bound.
/// </summary>
public sealed class AuditLog : ReceiveActor, IWithTimers
{
    public const string Name = "audit";

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(5);

    private readonly AuditSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SortedDictionary<long, Pending> _pending = [];
    private readonly LinkedList<AuditRecord> _recent = new();
    private IActorRef? _journal;
    private bool _writable;
    private bool _failed;
    private long _nextId;
    private long _highest;
    private long _dropped;
    private string? _lastFailure;
    private TimeSpan _retry = FirstRetry;
    private readonly UnauthenticatedAggregate _unauthenticated;

    public AuditLog(AuditSettings settings)
    {
        _settings = settings;
        _unauthenticated = new UnauthenticatedAggregate(settings.UnauthenticatedMaxSources);
        Receive<SessionAttemptObserved>(observed => Enqueue(FromSession(observed), replyTo: null));
        Receive<UnauthenticatedAttemptObserved>(observed =>
        {
            if (_unauthenticated.Add(observed))
            {
                Timers.StartSingleTimer(nameof(FlushUnauthenticated), FlushUnauthenticated.Instance, _settings.UnauthenticatedWindow);
            }
        });
        Receive<FlushUnauthenticated>(_ =>
        {
            foreach (var record in _unauthenticated.Flush())
            {
                Enqueue(record, replyTo: null);
            }
        });
        Receive<RecordAdminAction>(record =>
        {
            if (_failed)
            {
                // Fail closed, at once: the caller does not wait for an ask timeout.
                Sender.Tell(new AuditRefused(AuditCodes.StoreUnavailable, $"the audit trail cannot be written now (store unavailable{(_lastFailure is null ? string.Empty : ": " + _lastFailure)})"));
                return;
            }

            Enqueue(record.Record, Sender);
        });
        Receive<AuditJournal.Ready>(ready =>
        {
            _writable = true;
            _failed = false;
            _retry = FirstRetry;
            _highest = Math.Max(_highest, ready.HighestSequenceNr);
            foreach (var (id, pending) in _pending)
            {
                _journal!.Tell(new AuditJournal.Write(id, pending.Record));
            }
        });
        Receive<AuditJournal.Written>(written =>
        {
            _highest = Math.Max(_highest, written.SequenceNr);
            if (_pending.Remove(written.Id, out var pending))
            {
                Remember(pending.Record);
                pending.ReplyTo?.Tell(new AuditWritten(written.SequenceNr));
            }
        });
        Receive<AuditJournal.Failed>(failed => _lastFailure = failed.Reason);
        Receive<Terminated>(terminated => terminated.ActorRef.Equals(_journal), _ => JournalStopped());
        Receive<StartJournal>(_ => StartJournal_());
        Receive<GetAuditPosition>(_ => Sender.Tell(new AuditPosition(_settings.PersistenceId, _highest, _writable,
            _pending.Count, _dropped, _lastFailure, _recent.ToList())));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(AuditSettings settings) => Akka.Actor.Props.Create(() => new AuditLog(settings));

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(SessionAttemptObserved));
        Context.System.EventStream.Subscribe(Self, typeof(UnauthenticatedAttemptObserved));
        StartJournal_();
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private void StartJournal_()
    {
        _journal = Context.ActorOf(AuditJournal.Props(_settings.PersistenceId), $"journal-{++_nextId}");
        Context.Watch(_journal);
    }

    /// <summary>The store failed a write or the recovery: unconfirmed admin actions are refused, sessions wait for the retry.</summary>
    private void JournalStopped()
    {
        _writable = false;
        _failed = true; // until a new journal actor has recovered: admin actions are refused at once meanwhile
        _journal = null;
        foreach (var (id, pending) in _pending.Where(p => p.Value.ReplyTo is not null).ToList())
        {
            _pending.Remove(id);
            pending.ReplyTo!.Tell(new AuditRefused(AuditCodes.StoreUnavailable, $"the store did not confirm the audit record{(_lastFailure is null ? string.Empty : ": " + _lastFailure)}"));
        }

        _log.Error("audit trail: the store is unavailable ({0}); {1} session record(s) wait to be written; retrying in {2} ms",
            _lastFailure ?? "see above", _pending.Count, _retry.TotalMilliseconds);
        Timers.StartSingleTimer(nameof(StartJournal), StartJournal.Instance, _retry);
        _retry = TimeSpan.FromTicks(Math.Min(MaxRetry.Ticks, _retry.Ticks * 2));
    }

    private void Enqueue(AuditRecord record, IActorRef? replyTo)
    {
        var id = ++_nextId;
        _pending[id] = new Pending(record, replyTo);
        if (_writable)
        {
            _journal!.Tell(new AuditJournal.Write(id, record));
        }

        while (_pending.Count > _settings.MaxPending && _pending.FirstOrDefault(p => p.Value.ReplyTo is null) is { Value: not null } oldest)
        {
            _pending.Remove(oldest.Key);
            _dropped++;
            _log.Error("audit trail: more than {0} records wait for the store; dropped (logged here in full): {1}", _settings.MaxPending, oldest.Value.Record.ToText().TrimEnd());
        }
    }

    private void Remember(AuditRecord record)
    {
        _recent.AddLast(record);
        if (_recent.Count > _settings.Recent)
        {
            _recent.RemoveFirst();
        }
    }

    private static AuditRecord FromSession(SessionAttemptObserved s) => new(
        AuditRecord.Session, s.SessionId, "connect", s.User, null, null, s.Destination, s.Route, s.HandOffPath, s.Outcome, s.ErrorCode,
        s.ErrorAt is null ? s.Message : $"at {s.ErrorAt}: {s.Message}", s.Start, s.End);

    private sealed record Pending(AuditRecord Record, IActorRef? ReplyTo);

    private sealed record StartJournal
    {
        public static readonly StartJournal Instance = new();
    }

    private sealed record FlushUnauthenticated
    {
        public static readonly FlushUnauthenticated Instance = new();
    }
}

/// <summary>
/// Unauthenticated failures of one window, counted per (proxy, peer address, certificate fingerprint): the first
/// <c>maxSources</c> sources get a record each, any others one summary record. Memory and records per window are
/// bounded by <c>maxSources</c>, however many connections a flood makes.
/// </summary>
internal sealed class UnauthenticatedAggregate(int maxSources)
{
    private readonly Dictionary<(string Proxy, string Peer, string Fingerprint), Source> _sources = [];
    private Source? _others;
    private long _otherSources;

    /// <summary>Counts one failure; true if it opens a window (the caller schedules its flush).</summary>
    public bool Add(UnauthenticatedAttemptObserved observed)
    {
        var opens = _sources.Count == 0 && _others is null;
        var key = (observed.Proxy, observed.PeerAddress, observed.Fingerprint);
        if (_sources.TryGetValue(key, out var source))
        {
            source.Add(observed);
        }
        else if (_sources.Count < maxSources)
        {
            _sources[key] = new Source(observed);
        }
        else if (_others is null)
        {
            _others = new Source(observed);
            _otherSources = 1;
        }
        else
        {
            _others.Add(observed);
            _otherSources++; // attempts beyond the itemised sources (repeat sources are not told apart: no memory per source)
        }

        return opens;
    }

    /// <summary>The window's records, and a fresh window.</summary>
    public IReadOnlyList<AuditRecord> Flush()
    {
        var records = _sources.Values.Select(s => s.ToRecord(null)).ToList();
        if (_others is { } others)
        {
            records.Add(others.ToRecord($"{_otherSources} attempt(s) beyond the {maxSources} sources itemised in this window"));
        }

        _sources.Clear();
        _others = null;
        _otherSources = 0;
        return records;
    }

    private sealed class Source(UnauthenticatedAttemptObserved first)
    {
        private readonly UnauthenticatedAttemptObserved _first = first;
        private UnauthenticatedAttemptObserved _last = first;
        private long _count = 1;

        public void Add(UnauthenticatedAttemptObserved observed)
        {
            _last = observed;
            _count++;
        }

        public AuditRecord ToRecord(string? summary)
        {
            var claim = _first.ClaimedName is null ? string.Empty : $"certificate names '{_first.ClaimedName}', not verified; ";
            var message = summary is null
                ? $"{_count} attempt(s) at {_first.Proxy} before authentication: {claim}last: {_last.Code}: {_last.Message}"
                : $"{summary}: last at {_last.Proxy}: {_last.Code}: {_last.Message}";
            return new AuditRecord(AuditRecord.Unauthenticated, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), "connect", AuditRecord.NoUser,
                null, null, null, [_first.Proxy], [], AuditRecord.Error, _last.Code, message, _first.At, _last.At,
                summary is null ? _first.PeerAddress : "*", summary is null ? _first.Fingerprint : null, _count);
        }
    }
}

/// <summary>Starting the node's audit trail.</summary>
public static class AuditTrail
{
    /// <summary>Starts the node's audit trail at <c>/user/audit</c>.</summary>
    public static IActorRef Start(ActorSystem system, Config config) => system.ActorOf(AuditLog.Props(AuditSettings.FromConfig(config)), AuditLog.Name);
}

/// <summary>The audit trail's settings (<c>actorvpn.audit</c>).</summary>
public sealed record AuditSettings(string PersistenceId, int MaxPending, int Recent, TimeSpan UnauthenticatedWindow, int UnauthenticatedMaxSources)
{
    public static AuditSettings FromConfig(Config config) => new(
        config.GetString("actorvpn.audit.persistence-id", "audit"),
        config.GetInt("actorvpn.audit.max-pending", 10_000),
        config.GetInt("actorvpn.audit.recent", 1_000),
        config.GetTimeSpan("actorvpn.audit.unauthenticated.window", TimeSpan.FromSeconds(10), allowInfinite: false),
        Math.Max(1, config.GetInt("actorvpn.audit.unauthenticated.max-sources", 100)));
}

public static class AuditCodes
{
    /// <summary>The store did not confirm a write (or cannot be reached): nothing was done on unconfirmed state.</summary>
    public const string StoreUnavailable = "store-unavailable";
}

/// <summary>Write an operator action to the trail; answered once the store confirmed it.</summary>
public sealed record RecordAdminAction(AuditRecord Record);

public sealed record AuditWritten(long SequenceNr);

public sealed record AuditRefused(string Code, string Reason);

public sealed record GetAuditPosition
{
    public static readonly GetAuditPosition Instance = new();
}

/// <summary>Where the trail stands: its persistence id, highest sequence number, health; and the records written recently by this process.</summary>
public sealed record AuditPosition(string PersistenceId, long HighestSequenceNr, bool Writable, int Pending, long Dropped, string? LastFailure, IReadOnlyList<AuditRecord> Recent);

/// <summary>
/// Writes audit records under one persistence id. Recovers with <see cref="Recovery.None"/>: it
/// needs only the highest sequence number to append, so starting it costs the same with a trail
/// of ten records or ten million. A store failure stops it (the default of Akka.Persistence);
/// <see cref="AuditLog"/> starts a new one with back-off.
/// </summary>
public sealed class AuditJournal : ReceivePersistentActor
{
    public AuditJournal(string persistenceId)
    {
        PersistenceId = persistenceId;
        Recover<RecoveryCompleted>(_ => Context.Parent.Tell(new Ready(LastSequenceNr)));
        Command<Write>(write => PersistAsync(
            new Tagged(write.Record, write.Record.Tags),
            _ => Context.Parent.Tell(new Written(write.Id, LastSequenceNr))));
    }

    public override string PersistenceId { get; }

    public override Recovery Recovery => Recovery.None;

    public static Props Props(string persistenceId) => Akka.Actor.Props.Create(() => new AuditJournal(persistenceId));

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Context.Parent.Tell(new Failed(cause.GetBaseException().Message));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        Context.Parent.Tell(new Failed(cause.GetBaseException().Message));
        Context.Stop(Self);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Context.Parent.Tell(new Failed(reason.GetBaseException().Message));
        base.OnRecoveryFailure(reason, message);
    }

    public sealed record Write(long Id, AuditRecord Record);

    public sealed record Written(long Id, long SequenceNr);

    public sealed record Ready(long HighestSequenceNr);

    public sealed record Failed(string Reason);
}
