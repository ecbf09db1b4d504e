using ActorVpn.AuthServers.HandOff;
using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Protocol;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using static ActorVpn.Protocol.AuthServerAdmin;
using static ActorVpn.Protocol.ClientAuthProtocol;
using static ActorVpn.Protocol.HandOffProtocol;

namespace ActorVpn.AuthServers;

/// <summary>
/// One authentication server of the patent (Figs. 7, 8 and 9). An event-sourced actor that carries out what the pure
/// hand-off core decides (<see cref="Fig7Arrival"/>, <see cref="Fig8HomeServer"/>, <see cref="Fig9RelayServer"/>,
/// <see cref="Step910Aggregation"/>, <see cref="HandOffLedger"/>, <see cref="AdminCommands"/>): it persists, asks,
/// pipes, replies and keeps the timers. The members of its group (Fig. 4) are its child actors, which it supervises
/// (<see cref="AuthServerSupervision"/>).
///
/// Every hand-off is a chain of asks between auth-server actors, one per request, never blocking this actor: replies
/// are piped back as messages, and the relay route is aggregated on the reply path (Fig. 9, step 910).
/// </summary>
public sealed partial class AuthServerActor : ReceivePersistentActor, IWithTimers
{
    private readonly AuthServerSpec _spec;
    private readonly TopologyModel _topology;
    private readonly AuthServerSettings _settings;
    private readonly RelayTables _tables;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HandOffFaults _faults = HandOffFaults.For(Context.System); // a harness's fault injection; none in production

    private readonly StoreRestarts _restarts = new();
    private readonly HandOffAdmission _admission;
    private readonly AbandonedClients _abandoned;
    private readonly HandOffTelemetry _telemetry;
    private readonly StepTrail _trail = new(); // an operator's trace: the steps go back on the reply path (Fig. 9, step 910)

    private AuthServerState _state;
    private readonly SigningKeys _keys;
    private long _snapshotAt; // sequence number of the latest snapshot taken or recovered

    // Short-lived, deliberately not persisted: what the ledger holds, and the hand-offs waiting for the next server's answer.
    private readonly HandOffLedger<IActorRef> _ledger = new();
    private Caller? _answering;

    public AuthServerActor(AuthServerSpec spec, TopologyModel topology, AuthServerSettings settings)
    {
        _spec = spec;
        _topology = topology;
        _settings = settings;
        _tables = new RelayTables(spec, topology);
        _state = AuthServerState.Empty(spec.Name);
        _keys = new SigningKeys(spec.Name, settings.KeyProtection);
        _admission = new HandOffAdmission(settings.HandOffAdmission);
        _abandoned = new AbandonedClients(settings.HandOffTimeout + settings.HandOffTimeout);
        _telemetry = new HandOffTelemetry(spec.Name);

        Recover<SnapshotOffer>(offer => offer.Snapshot is AuthServerSnapshot snapshot, offer =>
        {
            _snapshotAt = offer.Metadata.SequenceNr;
            ApplySnapshot((AuthServerSnapshot)offer.Snapshot);
        });
        Recover<IAuthServerEvent>(evt => ApplyEvent(evt));
        Recover<RecoveryCompleted>(_ => OnRecovered());
        Command<SaveSnapshotSuccess>(saved => DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(failed => _log.Warning("{0}: snapshot failed, recovery replays more events: {1}", Me, failed.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
        Command<StoreRestarts.RestartAfterStoreFailure>(restart => _restarts.Schedule(Context, Timers, restart.Name));
        Command<StoreRestarts.RecreateMember>(recreate => _restarts.Recreate(Context, Timers, recreate.Name, () => MemberProps(recreate.Name)));

        // Fig. 6 step 603 -> Fig. 7 -> Fig. 8
        Command<AuthenticateClient>(request => Answering(new Caller(Sender, FromClient: true, [Me]), () => HandleClient(request)));
        Command<TraceRoute>(trace => Answering(new Caller(Sender, FromClient: true, [Me]), () => HandleTrace(trace)));
        // Fig. 9, steps 905/906 then 908 seen from the callee
        Command<OpenHandOff>(HandleOpen);
        Command<HandOffCertificate>(request => Answering(new Caller(Sender, FromClient: false, request.Path.Append(Me).ToList()), () => HandleCertificate(request)));
        Command<CallAnswered>(answered => Answering(
            _ledger.Pending.TryGetValue(answered.HandOffId, out var pending) ? new Caller(pending.ReplyTo, pending.FromClient, pending.Path) : null,
            () => HandleCallAnswered(answered)));
        Command<CallFailed>(HandleCallFailed);
        Command<SessionEnded>(HandleSessionEnded);
        Command<ClientAbandoned>(abandoned =>
        {
            if (_abandoned.Abandon(abandoned.SessionId, Now) is { } handOffId)
            {
                Release(handOffId, "the proxy stopped waiting for the answer (【0053】)");
            }
        });
        Command<ReleaseHandOff>(release => Release(release.HandOffId,
            release.RevokedUser is { } revoked ? $"'{revoked}' was revoked at its home server (【0053】)" : "released by the caller (【0053】)", release.RevokedUser));
        Command<Sweep>(_ => SweepExpired());
        Command<DelayedRequest>(HandleDelayedRequest);

        Command<RegisterUser>(register => Admitted(register, HandleRegisterUser));
        Command<RevokeUser>(revoke => Admitted(revoke, Decide));
        Command<IssuePeerCredential>(issue => Admitted(issue, HandleIssuePeerCredential));
        Command<AcceptPeerCredential>(accept => Admitted(accept, Decide));
        Command<EnrollProxy>(enroll => Admitted(enroll, HandleEnrollProxy));
        Command<FindUser>(Decide);
        Command<FindProxy>(Decide);
        Command<GetIdentity>(_ => Sender.Tell(Identity()));
        RotationCommands();
        Command<GetStatus>(_ => Sender.Tell(Status()));
    }

    public static Props Props(AuthServerSpec spec, TopologyModel topology, AuthServerSettings settings) =>
        Akka.Actor.Props.Create(() => new AuthServerActor(spec, topology, settings));

    private Props MemberProps(string member) => Props(_topology.AuthServer(member), _topology, _settings);

    /// <summary>
    /// The store refused or lost a write: the state is unconfirmed, so this server stops at once
    /// (callers get <c>unreachable</c>: fail closed) and its upper server re-creates it with
    /// back-off; it then recovers from whatever the store confirmed.
    /// </summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "{0}: the store did not confirm {1} (#{2}): stopping; no session is authorised on unconfirmed state", Me, @event.GetType().Name, sequenceNr);
        StoreFailure.Answer(Sender, @event, Me, $"the store did not confirm the write: {cause.GetBaseException().Message}"); // at once, not at the ask timeout
        Context.Parent.Tell(new StoreRestarts.RestartAfterStoreFailure(Me));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "{0}: the store rejected {1} (#{2}): stopping", Me, @event.GetType().Name, sequenceNr);
        StoreFailure.Answer(Sender, @event, Me, $"the store rejected the write: {cause.GetBaseException().Message}");
        Context.Parent.Tell(new StoreRestarts.RestartAfterStoreFailure(Me));
        Context.Stop(Self);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Error(reason, "{0}: cannot recover from the store (unreachable?): stopping, retried with back-off", Me);
        Context.Parent.Tell(new StoreRestarts.RestartAfterStoreFailure(Me));
        base.OnRecoveryFailure(reason, message);
    }

    public static string PersistenceIdFor(string authServer) => $"auth-server-{authServer}";

    public override string PersistenceId => PersistenceIdFor(_spec.Name);

    public ITimerScheduler Timers { get; set; } = null!;

    private string Me => _spec.Name;

    private DateTimeOffset Now => _settings.Clock.GetUtcNow();

    /// <summary>A member that crashes is restarted by its upper server; see <see cref="AuthServerSupervision"/>.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => AuthServerSupervision.Strategy;

    protected override void PreStart()
    {
        // Fig. 4: the members of this server's group are its children.
        foreach (var member in _tables.Members)
        {
            if (Context.Child(member.Name).IsNobody())
            {
                Context.ActorOf(Props(member, _topology, _settings), member.Name);
            }
        }

        var sweepEvery = TimeSpan.FromTicks(Math.Clamp(_settings.HoldTimeout.Ticks / 4, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));
        Timers.StartPeriodicTimer(nameof(Sweep), Sweep.Instance, sweepEvery);
        base.PreStart();
    }

    /// <summary>
    /// A crash must not take the group down or leave callers hanging: members keep running (the
    /// default would stop every child), and every hand-off in flight here is answered with a clear
    /// failure before the actor restarts and recovers its durable state from the journal.
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        // Akka restarts the members of a group with their upper server (message is null then): the
        // failure is reported at the upper server, where it happened.
        var restartedByUpper = message is null && _spec.Parent is not null;
        var at = restartedByUpper ? _spec.Parent! : Me;
        var why = restartedByUpper
            ? $"{_spec.Parent} crashed and restarted its group, {Me} with it ({reason.Message})"
            : $"{Me} crashed while handling the hand-off and is restarting ({reason.Message})";
        if (_answering is { } caller)
        {
            // The request being handled when the crash happened has no pending entry yet (or no longer).
            var error = new HandOffError(ErrorCodes.Unreachable, at, "Fig. 7", why);
            caller.ReplyTo.Tell(caller.FromClient ? new ClientRefused(error, caller.Path) : new HandOffFailed(error, caller.Path));
        }

        if (message is CallAnswered { Answer: HandOffRouted routed } answered)
        {
            ReleaseHolders(answered.HandOffId, routed.Holders); // 【0053】: the route will never reach the client
        }

        foreach (var pending in _ledger.Pending.Values.Where(p => !p.ReplyTo.Equals(_answering?.ReplyTo)).ToList())
        {
            var path = restartedByUpper && pending.Next == _spec.Parent ? pending.Path.Append(pending.Next).ToList() : pending.Path;
            Fail(pending, new HandOffError(ErrorCodes.Unreachable, at, pending.Step.Cite(), why), path);
            Tell(pending.Next, new ReleaseHandOff(pending.HandOffId));
        }

        _telemetry.Abandon(why);
        _keys.Dispose();
    }

    /// <summary>After each message, the figures a metrics scrape reads (it never asks this actor).</summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        var handled = base.AroundReceive(receive, message);
        _telemetry.Report(_ledger.Held.Count, _ledger.Pending.Count);
        return handled;
    }

    protected override void PostStop()
    {
        _telemetry.Abandon($"{Me} stopped");
        _telemetry.Report(0, 0);
        AuthServerRegistry.For(Context.System).Unregister(Me, Self);
        _keys.Dispose();
        base.PostStop();
    }

    // ---------------------------------------------------------------- recovery and persistence

    private void ApplyEvent(IAuthServerEvent evt)
    {
        _state = _state.Apply(evt);
        if (evt is AuthorityCreated created)
        {
            _keys.Import(created);
        }
        else if (evt is KeyRotationStarted or SigningKeySwitched or KeyRotationFinished or KeyRotationRolledBack)
        {
            _keys.ImportRotation(_state);
        }

        // Snapshots bound recovery: 100,000 users recover in seconds; see SnapshotPolicy.
        if (!IsRecovering && _settings.Snapshots.IsDue(LastSequenceNr - _snapshotAt, _state.Users.Count))
        {
            _snapshotAt = LastSequenceNr;
            SaveSnapshot(AuthServerSnapshot.Of(_state));
        }
    }

    private void ApplySnapshot(AuthServerSnapshot snapshot)
    {
        _state = snapshot.ToState();
        if (_state.Authority is { } created)
        {
            _keys.Import(created);
        }

        _keys.ImportRotation(_state);
    }

    private void OnRecovered()
    {
        if (_state.Authority is null)
        {
            // First start ever: create this server's own signing key.
            using var authority = SigningAuthority.Create(Me, Now);
            var created = _settings.KeyProtection is { } protection
                ? new AuthorityCreated(authority.ExportEncryptedPkcs8PrivateKey(protection.Secret), authority.Certificate.RawData, KeyIsProtected: true)
                : new AuthorityCreated(authority.ExportPkcs8PrivateKey(), authority.Certificate.RawData, KeyIsProtected: false);
            Persist(created, ApplyEvent);
        }

        // Reachable only once its durable state is confirmed: fail closed while the store is down.
        AuthServerRegistry.For(Context.System).Register(Me, Self);
        _log.Info("auth server {0} ready: {1} users, {2} credentials issued, {3} held", Me, _state.Users.Count, _state.CredentialsIssued.Count, _state.CredentialsHeld.Count);
    }
}
