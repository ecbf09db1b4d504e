using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.AuthServers.HandOff;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Messaging;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using static ActorVpn.AuthServers.AuthServerAdmin;
using static ActorVpn.AuthServers.HandOff.ClientAuthProtocol;
using static ActorVpn.AuthServers.HandOff.HandOffProtocol;

namespace ActorVpn.AuthServers;

/// <summary>
/// One authentication server of the patent (Figs. 7, 8 and 9). A thin event-sourced actor around
/// <see cref="AuthServerState"/> and <see cref="RelayTables"/>; the members of its group (Fig. 4) are
/// its child actors, which it supervises (<see cref="AuthServerSupervision"/>).
///
/// Every hand-off is a chain of asks between auth-server actors, one per request, never blocking
/// this actor: replies are piped back as messages, and the relay route is aggregated on the reply
/// path (Fig. 9, step 910).
/// </summary>
public sealed partial class AuthServerActor : ReceivePersistentActor, IWithTimers
{
    private readonly AuthServerSpec _spec;
    private readonly TopologyModel _topology;
    private readonly AuthServerSettings _settings;
    private readonly IHandOffInterceptor? _interceptor;
    private readonly RelayTables _tables;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private readonly StoreRestarts _restarts = new();
    private readonly HandOffAdmission _admission;
    private readonly AbandonedClients _abandoned;
    private readonly HandOffTelemetry _telemetry;
    private readonly StepTrail _trail = new(); // an operator's trace: the steps go back on the reply path (Fig. 9, step 910)

    private AuthServerState _state;
    private SigningAuthority? _authority;
    private long _snapshotAt; // sequence number of the latest snapshot taken or recovered

    // Short-lived, deliberately not persisted: held certificates, hand-offs in flight, open challenges.
    private readonly Dictionary<string, HeldCertificate> _held = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PendingHandOff> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OpenChallenge> _challenges = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IssuedRoute> _issued = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IssuedRoute> _forwarded = new(StringComparer.Ordinal);

    // Hand-offs ended because their user was revoked, remembered as long as their certificate could have been held: a hop
    // that comes for one later is told certificate-revoked (Fig. 7, step 702), not that nothing is held.
    private readonly Dictionary<string, RevokedHandOff> _revoked = new(StringComparer.Ordinal);
    private Caller? _answering;
    private HashSet<object>? _delayedArrived; // requests a harness delayed, now sent back to this server (StepAction.Delay)

    public AuthServerActor(AuthServerSpec spec, TopologyModel topology, AuthServerSettings settings, IHandOffInterceptor? interceptor)
    {
        _spec = spec;
        _topology = topology;
        _settings = settings;
        _interceptor = interceptor;
        _tables = new RelayTables(spec, topology);
        _state = AuthServerState.Empty(spec.Name);
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
            _pending.TryGetValue(answered.HandOffId, out var pending) ? new Caller(pending.ReplyTo, pending.FromClient, pending.Path) : null,
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
        Command<RevokeUser>(revoke => Admitted(revoke, HandleRevokeUser));
        Command<IssuePeerCredential>(issue => Admitted(issue, HandleIssuePeerCredential));
        Command<AcceptPeerCredential>(accept => Admitted(accept, HandleAcceptPeerCredential));
        Command<EnrollProxy>(enroll => Admitted(enroll, HandleEnrollProxy));
        Command<FindUser>(find => Sender.Tell(_state.Users.TryGetValue(find.User, out var user)
            ? new UserView(user.Name, user.RegisteredAt, user.RevokedAt, user.ActiveSerials.Count)
            : new AdminRefused($"user '{find.User}' is not registered at {Me}")));
        Command<FindProxy>(find => Sender.Tell(_state.Proxies.TryGetValue(find.Proxy, out var enrolled) && _topology.HasProxy(find.Proxy)
            ? new ProxyEnrolment(find.Proxy, enrolled.ListenAddress ?? _topology.Proxy(find.Proxy).Listen.ToString())
            : new AdminRefused($"proxy '{find.Proxy}' has not enrolled with {Me} (not started, or its node is down)")));
        Command<GetIdentity>(_ => Sender.Tell(Identity()));
        RotationCommands();
        Command<GetStatus>(_ => Sender.Tell(Status()));
    }

    public static Props Props(AuthServerSpec spec, TopologyModel topology, AuthServerSettings settings, IHandOffInterceptor? interceptor = null) =>
        Akka.Actor.Props.Create(() => new AuthServerActor(spec, topology, settings, interceptor));

    private Props MemberProps(string member) => Props(_topology.AuthServer(member), _topology, _settings, _interceptor);

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

    private SigningAuthority Authority => _authority ?? throw new InvalidOperationException($"{Me} has no signing authority yet");

    /// <summary>A member that crashes is restarted by its upper server; see <see cref="AuthServerSupervision"/>.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => AuthServerSupervision.Strategy;

    protected override void PreStart()
    {
        // Fig. 4: the members of this server's group are its children.
        foreach (var member in _tables.Members)
        {
            if (Context.Child(member.Name).IsNobody())
            {
                Context.ActorOf(Props(member, _topology, _settings, _interceptor), member.Name);
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

        foreach (var pending in _pending.Values.Where(p => !p.ReplyTo.Equals(_answering?.ReplyTo)).ToList())
        {
            var path = restartedByUpper && pending.Next == _spec.Parent ? pending.Path.Append(pending.Next).ToList() : pending.Path;
            Fail(pending, new HandOffError(ErrorCodes.Unreachable, at, pending.Step.Cite(), why), path);
            Tell(pending.Next, new ReleaseHandOff(pending.HandOffId));
        }

        _telemetry.Abandon(why);
        _authority?.Dispose();
        DisposeRotationKeys();
    }

    /// <summary>After each message, the figures a metrics scrape reads (it never asks this actor).</summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        var handled = base.AroundReceive(receive, message);
        _telemetry.Report(_held.Count, _pending.Count);
        return handled;
    }

    protected override void PostStop()
    {
        _telemetry.Abandon($"{Me} stopped");
        _telemetry.Report(0, 0);
        AuthServerRegistry.For(Context.System).Unregister(Me, Self);
        _authority?.Dispose();
        DisposeRotationKeys();
        base.PostStop();
    }

    // ---------------------------------------------------------------- recovery and persistence

    private void ApplyEvent(IAuthServerEvent evt)
    {
        _state = _state.Apply(evt);
        if (evt is AuthorityCreated created)
        {
            ImportAuthority(created);
        }

        ApplyKeyRotation(evt);

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
            ImportAuthority(created);
        }

        ImportRotationKeys();
    }

    /// <summary>The signing key is journalled encrypted when the node has a key secret, so it is protected at rest.</summary>
    private void ImportAuthority(AuthorityCreated created)
    {
        _authority?.Dispose();
        _authority = null;
        _authority = ImportKey(created);
    }

    private SigningAuthority ImportKey(AuthorityCreated created)
    {
        if (!created.KeyIsProtected)
        {
            return SigningAuthority.Import(Me, created.PrivateKey, created.CertificateDer);
        }

        var protection = _settings.KeyProtection
            ?? throw new CredentialException($"the signing key of {Me} is protected at rest, but no key secret is configured (DIR/key-secret or AVPN_KEY_SECRET)");
        return SigningAuthority.ImportEncrypted(Me, protection.Secret, created.PrivateKey, created.CertificateDer);
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

    // ---------------------------------------------------------------- Fig. 7 / Fig. 8: a client via a proxy

    private void HandleClient(AuthenticateClient request)
    {
        var replyTo = Sender;
        var trace = request.HandOffId ?? "new";
        _telemetry.ClientArrived(request.TraceParent, atEntry: request.HandOffId is null);
        _trail.ClientArrived(traced: false);
        if (_abandoned.IsAbandoned(request.SessionId))
        {
            return; // its proxy gave up before this server got to it (a backlog): no one would use the answer
        }

        if (!Step(PatentStep.Fig7Receive701, trace, $"client at {request.Proxy} for '{request.Destination}'", arriving: request)
            || !Step(PatentStep.Fig8IssuedHere801, trace, "is certificate 1 issued here?"))
        {
            return;
        }

        KnownCertificate certificate; // parsed and signature-checked once per certificate; time and revocation every time
        try
        {
            certificate = KnownCertificate.Read(request.UserCertificateDer);
        }
        catch (CredentialException e)
        {
            RefuseClient(replyTo, ErrorCodes.UnknownUser, PatentStep.Fig7Check702, $"not a certificate: {e.Message}");
            return;
        }

        {
            // During a key rotation both keys verify (Fig. 7, step 702); a key retired by a finished rotation does not.
            var verdict = VerifyIssuedHere(certificate, CertificateKind.User);
            switch (verdict)
            {
                case CertificateVerdict.Valid when request.HandOffId is not null:
                    // Fig. 8, step 801 (yes): a session starts here, at the home server, and a hand-off id belongs only to the
                    // later proxies of a route. Answering it would give the entry proxy no sign that this is the session's entry,
                    // so the session would run without its connect and end records.
                    RefuseClient(replyTo, ErrorCodes.NoRoute, PatentStep.Fig8IssuedHere801,
                        $"'{certificate.SubjectName}' presented hand-off id {request.HandOffId} at {request.Proxy}, but {Me} is its home server, where a session starts without one",
                        verifiedUser: certificate.SubjectName);
                    return;
                case CertificateVerdict.Valid:
                    HandleHomeClient(request, certificate, replyTo);
                    return;
                case CertificateVerdict.Expired or CertificateVerdict.NotYetValid:
                    RefuseClient(replyTo, ErrorCodes.CertificateExpired, PatentStep.Fig7Check702,
                        $"certificate of '{certificate.SubjectName}' is not valid now (valid {certificate.NotBeforeUtc:u} to {certificate.NotAfterUtc:u})");
                    return;
                case CertificateVerdict.NotIssuedHere when RetiredKeyOf(certificate, CertificateKind.User) is { } retired:
                    RefuseClient(replyTo, ErrorCodes.CertificateRevoked, PatentStep.Fig7Check702,
                        $"the certificate of '{certificate.SubjectName}' is signed by a key {Me} retired at {retired.RetiredAt:u} (its signing-key rotation finished or was rolled back): enrol the user again for a certificate of the current key");
                    return;
                case CertificateVerdict.NotIssuedHere when certificate.SubjectName is not null:
                    HandleHeldClient(request, certificate, replyTo);
                    return;
                default:
                    RefuseClient(replyTo, ErrorCodes.UnknownUser, PatentStep.Fig7Check702, $"certificate refused: {verdict}");
                    return;
            }
        }
    }

    /// <summary>Fig. 8, yes-branch of 801: this is the user's home server.</summary>
    private void HandleHomeClient(AuthenticateClient request, KnownCertificate certificate, IActorRef replyTo)
    {
        var user = certificate.SubjectName!;
        switch (_state.StandingOf(certificate))
        {
            case UserCertificateStanding.UnknownUser:
                RefuseClient(replyTo, ErrorCodes.UnknownUser, PatentStep.Fig7Check702, $"user '{user}' is not registered at {Me}", verifiedUser: user);
                return;
            case UserCertificateStanding.Revoked:
                RefuseClient(replyTo, ErrorCodes.CertificateRevoked, PatentStep.Fig7Check702, $"the certificate of '{user}' was revoked at {Me}", verifiedUser: user);
                return;
        }

        StartHomeHandOff(request, user, replyTo);
    }

    /// <summary>
    /// An operator's route trace: the hand-off a client of <paramref name="trace"/>'s user would start at its entry proxy, with a
    /// certificate issued for this trace alone. It is never persisted nor made one of the user's active certificates, and its key
    /// is discarded, so nothing could ever present it: the trace changes no state (an inspection), while the servers further on
    /// check it exactly as a client's certificate 1.
    /// </summary>
    private void HandleTrace(TraceRoute trace)
    {
        var replyTo = Sender;
        _telemetry.ClientArrived(null, atEntry: true);
        _trail.ClientArrived(traced: true);
        if (!Step(PatentStep.Fig7Receive701, "trace", $"route trace of '{trace.User}' to '{trace.Destination}' (an operator's inspection)", arriving: trace)
            || !Step(PatentStep.Fig8IssuedHere801, "trace", "is the user registered here?"))
        {
            return;
        }

        if (!_state.Users.TryGetValue(trace.User, out var registered))
        {
            RefuseClient(replyTo, ErrorCodes.UnknownUser, PatentStep.Fig7Check702, $"user '{trace.User}' is not registered at {Me}");
            return;
        }

        if (registered.RevokedAt is not null)
        {
            RefuseClient(replyTo, ErrorCodes.CertificateRevoked, PatentStep.Fig7Check702, $"'{trace.User}' was revoked at {Me}");
            return;
        }

        byte[] throwAway;
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var now = Now;
            using var issued = Signer.Issue(CertificateKind.User, trace.User, key.ExportSubjectPublicKeyInfo(), now.AddMinutes(-1), now + _settings.HandOffTimeout + _settings.HoldTimeout);
            throwAway = issued.RawData;
        }

        var entry = _tables.RelayProxyFor(trace.Destination)?.Name ?? "-";
        StartHomeHandOff(new AuthenticateClient(entry, throwAway, trace.Destination, null), trace.User, replyTo);
    }

    /// <summary>Fig. 8 from step 802 at the home server, for a user whose certificate 1 it verified.</summary>
    private void StartHomeHandOff(AuthenticateClient request, string user, IActorRef replyTo)
    {
        if (!_tables.KnowsDestination(request.Destination))
        {
            RefuseClient(replyTo, ErrorCodes.UnknownDestination, PatentStep.Fig8LookUp802, $"no destination '{request.Destination}' is known", verifiedUser: user);
            return;
        }

        var entryProxy = _tables.RelayProxyFor(request.Destination);
        if (entryProxy is null || entryProxy.Name != request.Proxy)
        {
            RefuseClient(replyTo, ErrorCodes.NoRoute, PatentStep.Fig8LookUp802,
                entryProxy is null
                    ? $"{Me} manages no relay proxy for '{request.Destination}' (Fig. 3)"
                    : $"'{request.Destination}' is relayed by {entryProxy.Name}, not by {request.Proxy} (Fig. 3)",
                verifiedUser: user);
            return;
        }

        if (_admission.TryStart(user, request.Proxy, Now) is { } busy)
        {
            RefuseClient(replyTo, ErrorCodes.Unreachable, PatentStep.Fig8LookUp802, busy);
            return;
        }

        var handOffId = NewHandOffId();
        _telemetry.Started(handOffId);
        _trail.Started(handOffId, Now);
        _abandoned.Started(request.SessionId, handOffId, Now);
        var path = new List<string> { Me };
        if (!Step(PatentStep.Fig8LookUp802, handOffId, $"user '{user}' to '{request.Destination}'"))
        {
            return;
        }

        switch (_tables.NextFor(request.Destination))
        {
            case NextHop.End:
                // A one-proxy chain: the entry proxy is also the exit proxy.
                Step(PatentStep.Fig8Authenticated811, handOffId, "route [] (End)");
                _telemetry.Ended(handOffId, null);
                replyTo.Tell(new ClientAuthenticated(user, handOffId, [], null, _tables.DestinationAddress(request.Destination), path, [], AtHome: true,
                    _trail.End(handOffId)));
                return;
            case NextHop.Route route:
                StartCall(new PendingHandOff(handOffId, replyTo, FromClient: true, request.UserCertificateDer, user, request.Destination,
                    path, route.AuthServer, Now + _settings.HandOffTimeout, PatentStep.Fig8Connect805));
                return;
            case NextHop.Escalate escalate:
                Step(PatentStep.Fig8Escalate803, handOffId, $"no entry for '{request.Destination}': upper server {escalate.UpperServer}");
                StartCall(new PendingHandOff(handOffId, replyTo, FromClient: true, request.UserCertificateDer, user, request.Destination,
                    path, escalate.UpperServer, Now + _settings.HandOffTimeout, PatentStep.Fig8Connect805));
                return;
            default:
                _telemetry.Ended(handOffId, Error(ErrorCodes.NoRoute, PatentStep.Fig8Escalate803, "no route and no upper server"));
                RefuseClient(replyTo, ErrorCodes.NoRoute, PatentStep.Fig8Escalate803,
                    $"{Me} has no route for '{request.Destination}' and no upper server", path);
                return;
        }
    }

    /// <summary>Fig. 8, no-branch of 801: a certificate handed off earlier; no route look-up, then discard (【0045】).</summary>
    private void HandleHeldClient(AuthenticateClient request, KnownCertificate certificate, IActorRef replyTo)
    {
        var user = certificate.SubjectName!;
        if (request.HandOffId is not null && _revoked.TryGetValue(request.HandOffId, out var revoked)
            && (revoked.CertificateDer is null || CryptographicOperations.FixedTimeEquals(revoked.CertificateDer, request.UserCertificateDer)))
        {
            // Fig. 7, step 702: the hand-off was made, but its user has been revoked since; its certificate was dropped here.
            RefuseClient(replyTo, ErrorCodes.CertificateRevoked, PatentStep.Fig7Check702,
                $"'{revoked.User}' was revoked at {revoked.Home} while hand-off {request.HandOffId} was still authenticating: {Me} dropped its certificate");
            return;
        }

        if (request.HandOffId is null || !_held.TryGetValue(request.HandOffId, out var held) || held.ExpiresAt <= Now)
        {
            RefuseClient(replyTo, ErrorCodes.UnknownUser, PatentStep.Fig7Check702,
                $"'{user}' is not registered at {Me}, and no hand-off of this certificate is held here (used, expired after {_settings.HoldTimeout.TotalSeconds:0} s, or never made)");
            return;
        }

        if (!CryptographicOperations.FixedTimeEquals(held.CertificateDer, request.UserCertificateDer))
        {
            RefuseClient(replyTo, ErrorCodes.UnknownUser, PatentStep.Fig7Check702, $"hand-off {held.HandOffId} at {Me} was made for another certificate", held.Path);
            return;
        }

        if (held.Destination != request.Destination || held.RelayProxy != request.Proxy)
        {
            RefuseClient(replyTo, ErrorCodes.NoRoute, PatentStep.Fig7Check702,
                $"certificate 1 was handed off to {Me} for '{held.Destination}' via {held.RelayProxy}, not for '{request.Destination}' via {request.Proxy}", held.Path);
            return;
        }

        if (certificate.NotAfterUtc <= Now.UtcDateTime || certificate.NotBeforeUtc > Now.UtcDateTime)
        {
            Drop(held.HandOffId, "certificate expired");
            RefuseClient(replyTo, ErrorCodes.CertificateExpired, PatentStep.Fig7Check702, $"certificate of '{user}' expired at {certificate.NotAfterUtc:u}", held.Path);
            return;
        }

        if (!Step(PatentStep.Fig8HeldUsed811, held.HandOffId, $"'{user}' authenticated at {request.Proxy} with the held certificate"))
        {
            return;
        }

        Drop(held.HandOffId, "used by the client's hop authentication");
        _telemetry.ClientAnswered(null);
        var next = held.Route.Count > 1 ? held.Route[1] : null;
        replyTo.Tell(new ClientAuthenticated(user, held.HandOffId, [], next,
            next is null ? _tables.DestinationAddress(held.Destination) : null, held.Path, held.Holders));
    }

    // ---------------------------------------------------------------- Fig. 9: a request from another auth server

    private void HandleOpen(OpenHandOff open)
    {
        _telemetry.CalleeArrived(open.HandOffId, open.TraceParent);
        _trail.Opened(open.HandOffId, open.Traced, Now);
        if (!Step(PatentStep.Fig7Receive701, open.HandOffId, $"hand-off request from {open.Caller}", open.Caller, arriving: open)
            || !Step(PatentStep.Fig7Check702, open.HandOffId, $"inter-server credential of {open.Caller}"))
        {
            return;
        }

        // Fig. 7 step 702 / Fig. 9 step 906: the caller must present a credential this server issued to it.
        var problem = CheckPeerCredential(open, out var credential);
        if (problem is not null)
        {
            FailCallee(Sender, open.HandOffId, new HandOffFailed(new HandOffError(ErrorCodes.UntrustedPeer, Me, PatentStep.Fig7Check702.Cite(), problem), [open.Caller, Me]));
            return;
        }

        var nonce = PeerProof.NewNonce();
        _challenges[Convert.ToBase64String(nonce)] = new OpenChallenge(open.Caller, open.HandOffId, credential!, Now + _settings.ChallengeTimeout);
        Sender.Tell(new HandOffChallenge(Me, nonce, _trail.Take(open.HandOffId)));
    }

    private string? CheckPeerCredential(OpenHandOff open, out byte[]? credential)
    {
        credential = open.CredentialDer;
        if (open.CredentialDer is null)
        {
            return $"{open.Caller} holds no credential issued by {Me} ({Me} does not list it in 'trusts')";
        }

        // The latest credential issued to the caller, or an earlier one for the same key that is still valid (checked
        // below): a renewal replaces the credential here before the caller holds the new one, and hand-offs in flight
        // meanwhile present the old one (the overlap). One for another key (the caller's key changed) is refused.
        // A caller rotating its own key also holds one for its new key (issued alongside, accepted until its rotation ends).
        if (!IsIssuedTo(_state.CredentialsIssued, open.Caller, open.CredentialDer) && !IsIssuedTo(_state.CredentialsIssuedNext, open.Caller, open.CredentialDer))
        {
            return $"the credential {open.Caller} presented is not the one {Me} issued to it";
        }

        try
        {
            var certificate = KnownCertificate.Read(open.CredentialDer);
            var verdict = VerifyIssuedHere(certificate, CertificateKind.InterServer);
            if (verdict == CertificateVerdict.NotIssuedHere && RetiredKeyOf(certificate, CertificateKind.InterServer) is { } retired)
            {
                return $"the credential of {open.Caller} is signed by a key {Me} retired at {retired.RetiredAt:u} (its signing-key rotation finished or was rolled back)";
            }

            if (verdict != CertificateVerdict.Valid || certificate.SubjectName != open.Caller)
            {
                return $"the credential of {open.Caller} is not valid here: {verdict}";
            }
        }
        catch (CredentialException e)
        {
            return $"the credential of {open.Caller} is not a certificate: {e.Message}";
        }

        return null;
    }

    private static bool IsIssuedTo(System.Collections.Immutable.ImmutableSortedDictionary<string, byte[]> issued, string caller, byte[] presented) =>
        issued.TryGetValue(caller, out var der) && (der.AsSpan().SequenceEqual(presented) || SameSubjectKey(der, presented));

    private static bool SameSubjectKey(byte[] issuedDer, byte[] presentedDer)
    {
        try
        {
            using var issued = CertificateText.FromDer(issuedDer);
            using var presented = CertificateText.FromDer(presentedDer);
            return issued.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(presented.PublicKey.ExportSubjectPublicKeyInfo());
        }
        catch (Exception e) when (e is CredentialException or CryptographicException)
        {
            return false;
        }
    }

    private void HandleCertificate(HandOffCertificate request)
    {
        var replyTo = Sender;
        var path = request.Path.Append(Me).ToList();

        // One-time challenge: a proof copied from a log, or replayed, finds no open nonce.
        var key = Convert.ToBase64String(request.Nonce);
        if (!_challenges.Remove(key, out var challenge) || challenge.ExpiresAt <= Now
            || challenge.Caller != request.Caller || challenge.HandOffId != request.HandOffId)
        {
            FailCallee(replyTo, request.HandOffId, new HandOffFailed(new HandOffError(ErrorCodes.UntrustedPeer, Me, PatentStep.Fig7Check702.Cite(),
                $"{request.Caller} answered no open challenge of {Me} (replayed or expired proof)"), path));
            return;
        }

        {
            // A fresh signature over this fresh nonce, every time; only the key's import is remembered.
            if (!PeerProof.VerifyKnown(KnownCertificate.Read(challenge.CredentialDer), request.Nonce, ProofBinding(Me, request), request.Proof))
            {
                FailCallee(replyTo, request.HandOffId, new HandOffFailed(new HandOffError(ErrorCodes.UntrustedPeer, Me, PatentStep.Fig7Check702.Cite(),
                    $"{request.Caller} could not prove possession of the key its credential certifies"), path));
                return;
            }
        }

        // Fig. 9 step 901: receive certificate 1 and hold it while the hand-off goes on.
        if (!Step(PatentStep.Fig9Receive901, request.HandOffId, $"certificate of '{request.User}' for '{request.Destination}' from {request.Caller}", request.Caller))
        {
            return;
        }

        var deadline = Now + request.Budget;
        if (_revoked.TryGetValue(request.HandOffId, out var revoked))
        {
            // Its release overtook it: the user was revoked at its home server, so nothing is held for it here.
            replyTo.Tell(new HandOffFailed(Error(ErrorCodes.CertificateRevoked, PatentStep.Fig9Receive901,
                $"'{revoked.User}' was revoked at {revoked.Home}: hand-off {request.HandOffId} ended"), path, _trail.End(request.HandOffId)));
            return;
        }

        if (request.Path.Contains(Me))
        {
            FailCallee(replyTo, request.HandOffId, new HandOffFailed(Error(ErrorCodes.RouteLoop, PatentStep.Fig9Receive901,
                $"the certificate already visited {Me}: {string.Join(" -> ", path)}"), path));
            return;
        }

        if (!_tables.KnowsDestination(request.Destination))
        {
            FailCallee(replyTo, request.HandOffId, new HandOffFailed(Error(ErrorCodes.UnknownDestination, PatentStep.Fig9LookUp902, $"no destination '{request.Destination}' is known"), path));
            return;
        }

        if (!CertificateLooksCurrent(request.UserCertificateDer, out var expiredMessage))
        {
            FailCallee(replyTo, request.HandOffId, new HandOffFailed(Error(ErrorCodes.CertificateExpired, PatentStep.Fig9Receive901, expiredMessage!), path));
            return;
        }

        if (!Step(PatentStep.Fig9LookUp902, request.HandOffId, $"'{request.Destination}'"))
        {
            return;
        }

        var pending = new PendingHandOff(request.HandOffId, replyTo, FromClient: false, request.UserCertificateDer, request.User,
            request.Destination, path, Next: string.Empty, deadline, PatentStep.Fig9Connect905);
        switch (_tables.NextFor(request.Destination))
        {
            case NextHop.End:
                // Fig. 9 step 910 with End: the route holds only this server's relay proxy.
                Complete(pending, new HandOffRouted([], path, []));
                return;
            case NextHop.Route route:
                StartCall(pending with { Next = route.AuthServer });
                return;
            case NextHop.Escalate escalate:
                Step(PatentStep.Fig9Escalate903, request.HandOffId, $"no entry for '{request.Destination}': upper server {escalate.UpperServer}");
                StartCall(pending with { Next = escalate.UpperServer });
                return;
            default:
                FailCallee(replyTo, request.HandOffId, new HandOffFailed(Error(ErrorCodes.NoRoute, PatentStep.Fig9Escalate903,
                    $"{Me} has no route for '{request.Destination}' and no upper server"), path));
                return;
        }
    }

    /// <summary>Fig. 7 step 704 to a calling auth server: this server's part of the hand-off ends with the error.</summary>
    private void FailCallee(IActorRef replyTo, string handOffId, HandOffFailed failed)
    {
        _telemetry.Ended(handOffId, failed.Error);
        replyTo.Tell(failed with { Steps = _trail.End(handOffId) });
    }

    private bool CertificateLooksCurrent(byte[] der, out string? problem)
    {
        problem = null;
        try
        {
            var certificate = KnownCertificate.Read(der);
            var now = Now.UtcDateTime;
            if (certificate.NotAfterUtc > now && certificate.NotBeforeUtc <= now)
            {
                return true;
            }

            problem = $"certificate of '{certificate.SubjectName}' is not valid now (valid {certificate.NotBeforeUtc:u} to {certificate.NotAfterUtc:u})";
        }
        catch (CredentialException e)
        {
            problem = $"certificate 1 is not a certificate: {e.Message}";
        }

        return false;
    }

    // ---------------------------------------------------------------- calling the next auth server (805-809 / 905-909)

    private void StartCall(PendingHandOff pending)
    {
        var connectStep = pending.FromClient ? PatentStep.Fig8Connect805 : PatentStep.Fig9Connect905;
        if (pending.Path.Contains(pending.Next))
        {
            Fail(pending, Error(ErrorCodes.RouteLoop, connectStep,
                $"{Me} would hand on to {pending.Next}, which the certificate already visited: {string.Join(" -> ", pending.Path.Append(pending.Next))}"),
                pending.Path);
            return;
        }

        _pending[pending.HandOffId] = pending with { Step = connectStep };
        if (!Step(connectStep, pending.HandOffId, $"to {pending.Next}"))
        {
            return;
        }

        var target = AuthServerRegistry.For(Context.System).Find(pending.Next);
        if (target is null)
        {
            Fail(pending, new HandOffError(ErrorCodes.Unreachable, pending.Next, connectStep.Cite(), $"{pending.Next} is not running"),
                pending.Path.Append(pending.Next).ToList());
            return;
        }

        // After a key switch the new key proves this server's identity, with the credential issued for it (Fig. 8 step 805 / Fig. 9 step 905).
        var (credential, nextKey) = CredentialFor(pending.Next);
        _pending[pending.HandOffId] = pending = _pending[pending.HandOffId] with { NextKey = nextKey };
        Ask(pending, target, new OpenHandOff(Me, credential, pending.HandOffId, _telemetry.TraceParentOf(pending.HandOffId), _trail.IsTraced(pending.HandOffId)));
    }

    private void Ask(PendingHandOff pending, IActorRef target, object message)
    {
        var remaining = pending.Deadline - Now;
        if (remaining <= TimeSpan.Zero)
        {
            Fail(pending, new HandOffError(ErrorCodes.Timeout, pending.Next, pending.Step.Cite(), $"no time left to call {pending.Next}"), pending.Path.Append(pending.Next).ToList());
            return;
        }

        var id = pending.HandOffId;
        var next = pending.Next;
        target.Ask<object>(message, remaining).PipeTo(Self,
            success: answer => new CallAnswered(id, next, answer),
            failure: e => new CallFailed(id, next, e));
    }

    private void HandleCallAnswered(CallAnswered answered)
    {
        if (!_pending.TryGetValue(answered.HandOffId, out var pending) || pending.Next != answered.Next)
        {
            // Released, failed or restarted meanwhile: a route that arrives now will never reach the client.
            if (answered.Answer is HandOffRouted late)
            {
                ReleaseHolders(answered.HandOffId, late.Holders, _revoked.GetValueOrDefault(answered.HandOffId)?.User);
            }

            return;
        }

        switch (answered.Answer)
        {
            case HandOffChallenge challenge:
                // Fig. 8 step 808 / Fig. 9 step 908: send certificate 1 with the proof of possession.
                var sendStep = pending.FromClient ? PatentStep.Fig8SendCertificate808 : PatentStep.Fig9SendCertificate908;
                _pending[pending.HandOffId] = pending = pending with { Step = sendStep };
                _trail.Returned(pending.HandOffId, challenge.Steps); // the callee's steps 701-702 came before this server's 808/908
                if (!Step(sendStep, pending.HandOffId, $"to {pending.Next}"))
                {
                    return;
                }

                var remaining = pending.Deadline - Now;
                var request = new HandOffCertificate(Me, pending.HandOffId, pending.CertificateDer, pending.User, pending.Destination,
                    pending.Path, challenge.Nonce, [], DownstreamBudget(remaining), _telemetry.TraceParentOf(pending.HandOffId),
                    _trail.IsTraced(pending.HandOffId));
                request = request with { Proof = PeerProof.Sign(ProofKey(pending.NextKey).SignData, challenge.Nonce, ProofBinding(pending.Next, request)) };
                var target = AuthServerRegistry.For(Context.System).Find(pending.Next);
                if (target is null)
                {
                    Fail(pending, new HandOffError(ErrorCodes.Unreachable, pending.Next, sendStep.Cite(), $"{pending.Next} stopped"), pending.Path.Append(pending.Next).ToList());
                    return;
                }

                Ask(pending, target, request);
                return;
            case HandOffRouted routed:
                _trail.Returned(pending.HandOffId, routed.Steps); // Fig. 9, step 910: what the callee returned, then this server's own
                Step(pending.FromClient ? PatentStep.Fig8RouteReceived809 : PatentStep.Fig9RouteReceived909, pending.HandOffId,
                    $"route [{string.Join(", ", routed.Route.Select(r => r.Proxy))}] from {pending.Next}");
                _pending.Remove(pending.HandOffId);
                Complete(pending, routed);
                return;
            case HandOffFailed failed:
                _pending.Remove(pending.HandOffId);
                _trail.Returned(pending.HandOffId, failed.Steps);
                // A callee that refuses the OpenHandOff only knows [caller, callee]: keep the whole path (contract `handoff`).
                Fail(pending, failed.Error, failed.Path.Take(pending.Path.Count).SequenceEqual(pending.Path) ? failed.Path : pending.Path.Append(pending.Next).ToList());
                return;
            default:
                _pending.Remove(pending.HandOffId);
                Fail(pending, Error(ErrorCodes.Unreachable, pending.Step, $"{pending.Next} answered {answered.Answer.GetType().Name}"), pending.Path);
                return;
        }
    }

    private void HandleCallFailed(CallFailed failed)
    {
        if (!_pending.Remove(failed.HandOffId, out var pending) || pending.Next != failed.Next)
        {
            return;
        }

        var path = pending.Path.Append(pending.Next).ToList();
        if (failed.Cause is AskTimeoutException)
        {
            // 【0053】: whatever the silent server may still do for this hand-off is released.
            AuthServerRegistry.For(Context.System).Find(pending.Next)?.Tell(new ReleaseHandOff(pending.HandOffId));
            Fail(pending, new HandOffError(ErrorCodes.Timeout, pending.Next, pending.Step.Cite(),
                $"{pending.Next} did not answer {Me} in time (hand-off timeout {_settings.HandOffTimeout.TotalSeconds:0.#} s)"), path);
        }
        else
        {
            Fail(pending, new HandOffError(ErrorCodes.Unreachable, pending.Next, pending.Step.Cite(), $"{pending.Next} could not be called: {failed.Cause.Message}"), path);
        }
    }

    /// <summary>The callee gets a little less time than this server has, so the deepest waiting server times out first.</summary>
    private static TimeSpan DownstreamBudget(TimeSpan remaining)
    {
        var margin = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, remaining.Ticks / 20));
        return remaining - margin > TimeSpan.Zero ? remaining - margin : TimeSpan.Zero;
    }

    // ---------------------------------------------------------------- the reply path (809-811 / 910)

    private void Complete(PendingHandOff pending, HandOffRouted routed)
    {
        if (pending.FromClient)
        {
            // Fig. 8 steps 810/811: the aggregated route and "authenticated" to the entry proxy.
            if (!Step(PatentStep.Fig8Authenticated811, pending.HandOffId, $"route [{string.Join(", ", routed.Route.Select(r => r.Proxy))}]"))
            {
                return;
            }

            _issued[pending.HandOffId] = new IssuedRoute(routed.Holders, Now + _settings.HoldTimeout, pending.User);
            _telemetry.Ended(pending.HandOffId, null);
            pending.ReplyTo.Tell(new ClientAuthenticated(pending.User, pending.HandOffId, routed.Route, routed.Route.FirstOrDefault(), null, routed.Path, routed.Holders, AtHome: true,
                _trail.End(pending.HandOffId)));
            return;
        }

        var relay = _tables.RelayProxyFor(pending.Destination);
        if (relay is null)
        {
            // 【0036】: no relay proxy here for this destination, so certificate 1 is not needed: discard at once.
            Step(PatentStep.DiscardNoRelay0036, pending.HandOffId, "no relay proxy here: certificate 1 discarded");
            _forwarded[pending.HandOffId] = new IssuedRoute(routed.Holders, Now + _settings.HoldTimeout);
            if (Step(PatentStep.Fig9ReturnRoute910, pending.HandOffId, $"route [{string.Join(", ", routed.Route.Select(r => r.Proxy))}] (nothing added)"))
            {
                _telemetry.Ended(pending.HandOffId, null);
                pending.ReplyTo.Tell(routed with { Steps = _trail.End(pending.HandOffId) });
            }

            return;
        }

        var path = routed.Path.Count > 0 ? routed.Path : pending.Path;
        if (!_state.Proxies.TryGetValue(relay.Name, out var enrolled))
        {
            // Fig. 9 step 910 (Fig. 3): this server vouches for its relay proxy on the route with the pin of the identity
            // it issued. A proxy that has not enrolled has none, so it is not put on the route: the hand-off fails here,
            // and whatever the servers further on already hold for it is released (【0053】).
            ReleaseHolders(pending.HandOffId, routed.Holders);
            Fail(pending, Error(ErrorCodes.Unreachable, PatentStep.Fig9ReturnRoute910,
                $"{relay.Name} has not enrolled with {Me} (not started, or not yet reached {Me}): {Me} has no identity of it to vouch for, so it puts it on no route"),
                path);
            return;
        }

        // Fig. 9 step 910: prepend this server's relay proxy and hold certificate 1 until the client comes.
        var route = routed.Route.Prepend(RouteEntryFor(relay, enrolled)).ToList();
        var holders = routed.Holders.Prepend(Me).ToList();
        _held[pending.HandOffId] = new HeldCertificate(pending.HandOffId, pending.CertificateDer, pending.User, pending.Destination, relay.Name,
            route, path, holders, pending.Next.Length > 0 ? pending.Next : null, Now, Now + _settings.HoldTimeout);
        if (Step(PatentStep.Fig9ReturnRoute910, pending.HandOffId, $"prepended {relay.Name}: route [{string.Join(", ", route.Select(r => r.Proxy))}]; holding certificate 1"))
        {
            _telemetry.RelayAdded(pending.HandOffId, relay.Name);
            _telemetry.Ended(pending.HandOffId, null);
            pending.ReplyTo.Tell(new HandOffRouted(route, path, holders, _trail.End(pending.HandOffId)));
        }
    }

    private void Fail(PendingHandOff pending, HandOffError error, IReadOnlyList<string> path)
    {
        _pending.Remove(pending.HandOffId);
        _telemetry.Ended(pending.HandOffId, error);
        _log.Info("hand-off {0} failed: {1}", pending.HandOffId, error);
        // A client's hand-off starts only at its home server, after it verified certificate 1: the refusal is that user's.
        var steps = _trail.End(pending.HandOffId);
        pending.ReplyTo.Tell(pending.FromClient ? new ClientRefused(error, path, pending.User, steps) : new HandOffFailed(error, path, steps));
    }

    private void RefuseClient(IActorRef replyTo, string code, PatentStep step, string message, IReadOnlyList<string>? path = null, string? verifiedUser = null)
    {
        var error = Error(code, step, message);
        _telemetry.ClientAnswered(error);
        _log.Info("client refused (Fig. 7, step 704): {0}", error);
        replyTo.Tell(new ClientRefused(error, path ?? [Me], verifiedUser, _trail.EndClient()));
    }

    private HandOffError Error(string code, PatentStep step, string message) => new(code, Me, step.Cite(), message);

    // ---------------------------------------------------------------- releasing what is held (【0045】, 【0050】, 【0053】)

    private void HandleSessionEnded(SessionEnded ended)
    {
        if (_issued.Remove(ended.HandOffId, out var issued))
        {
            ReleaseHolders(ended.HandOffId, issued.Holders);
        }
    }

    /// <param name="revokedUser">Set when the release comes from the revocation of the hand-off's user: it is passed down the
    /// chain, and the hand-off is remembered as revoked here (<see cref="_revoked"/>).</param>
    private void Release(string handOffId, string reason, string? revokedUser = null)
    {
        if (revokedUser is not null)
        {
            RememberRevoked(handOffId, revokedUser);
        }

        if (_pending.Remove(handOffId, out var pending))
        {
            Tell(pending.Next, new ReleaseHandOff(handOffId, revokedUser));
        }

        if (_held.TryGetValue(handOffId, out var held))
        {
            ReleaseHolders(handOffId, held.Holders.Where(h => h != Me), revokedUser);
        }

        if (_forwarded.Remove(handOffId, out var forwarded))
        {
            ReleaseHolders(handOffId, forwarded.Holders, revokedUser);
        }

        Drop(handOffId, reason);
    }

    private void ReleaseHolders(string handOffId, IEnumerable<string> holders, string? revokedUser = null)
    {
        foreach (var holder in holders)
        {
            Tell(holder, new ReleaseHandOff(handOffId, revokedUser));
        }
    }

    private void RememberRevoked(string handOffId, string user)
    {
        var held = _held.GetValueOrDefault(handOffId);
        var home = held?.Path.FirstOrDefault() ?? _pending.GetValueOrDefault(handOffId)?.Path.FirstOrDefault() ?? "its home server";
        _revoked.TryAdd(handOffId, new RevokedHandOff(user, home, held?.CertificateDer, Now + _settings.HandOffTimeout + _settings.HoldTimeout));
    }

    /// <summary>
    /// The home server of <paramref name="user"/> persisted its revocation: every hand-off of the user it started and that is
    /// not yet a session at every proxy ends now (【0053】). One still in flight is refused to its entry proxy with
    /// certificate-revoked (Fig. 7, step 704) and released down the chain; one already routed is released at every holder,
    /// which drops the certificate it holds and refuses the hop that comes for it.
    /// </summary>
    private void EndHandOffsOf(string user)
    {
        foreach (var pending in _pending.Values.Where(p => p.FromClient && p.User == user).ToList())
        {
            Release(pending.HandOffId, $"'{user}' was revoked at {Me} (【0053】)", user);
            Fail(pending, Error(ErrorCodes.CertificateRevoked, PatentStep.Fig7Check702, $"'{user}' was revoked at {Me} while its hand-off was in flight"),
                pending.Path);
        }

        foreach (var (handOffId, issued) in _issued.Where(i => i.Value.User == user).ToList())
        {
            _issued.Remove(handOffId);
            RememberRevoked(handOffId, user);
            _log.Info("{0}: hand-off {1} of revoked user '{2}' released at {3} (【0053】)", Me, handOffId, user, string.Join(", ", issued.Holders));
            ReleaseHolders(handOffId, issued.Holders, user);
        }
    }

    private void Tell(string authServer, object message)
    {
        if (authServer.Length > 0)
        {
            AuthServerRegistry.For(Context.System).Find(authServer)?.Tell(message);
        }
    }

    private void Drop(string handOffId, string reason)
    {
        if (_held.Remove(handOffId, out var held))
        {
            Step(PatentStep.HeldDropped, handOffId, $"certificate of '{held.User}' dropped: {reason}");
        }
    }

    private void SweepExpired()
    {
        var now = Now;
        _abandoned.Sweep(now);
        _telemetry.Sweep(_settings.HandOffTimeout + _settings.HandOffTimeout + _settings.HoldTimeout);
        _trail.Sweep(now - (_settings.HandOffTimeout + _settings.HandOffTimeout + _settings.HoldTimeout));
        foreach (var expired in _held.Values.Where(h => h.ExpiresAt <= now).ToList())
        {
            Drop(expired.HandOffId, $"the client did not authenticate within {_settings.HoldTimeout.TotalSeconds:0.#} s");
        }

        foreach (var (nonce, _) in _challenges.Where(c => c.Value.ExpiresAt <= now).ToList())
        {
            _challenges.Remove(nonce);
        }

        foreach (var (id, _) in _issued.Where(i => i.Value.ExpiresAt <= now).ToList())
        {
            _issued.Remove(id);
        }

        foreach (var (id, _) in _forwarded.Where(i => i.Value.ExpiresAt <= now).ToList())
        {
            _forwarded.Remove(id);
        }

        foreach (var (id, _) in _revoked.Where(r => r.Value.ExpiresAt <= now).ToList())
        {
            _revoked.Remove(id);
        }

        // A request whose call never came back (a black-holed step, or its ask timeout delivered too late
        // on a starved machine) is answered with `timeout`, not forgotten: its caller may still be waiting.
        foreach (var stale in _pending.Values.Where(p => p.Deadline + _settings.HandOffTimeout <= now).ToList())
        {
            AuthServerRegistry.For(Context.System).Find(stale.Next)?.Tell(new ReleaseHandOff(stale.HandOffId)); // 【0053】
            Fail(stale, new HandOffError(ErrorCodes.Timeout, stale.Next, stale.Step.Cite(),
                $"{stale.Next} did not answer {Me} in time (hand-off timeout {_settings.HandOffTimeout.TotalSeconds:0.#} s)"), stale.Path.Append(stale.Next).ToList());
        }
    }

    // ---------------------------------------------------------------- administration

    /// <summary>Acts on an administrative message only if its sender may send it; a refusal is logged and answered.</summary>
    private void Admitted<T>(T command, Action<T> handle)
        where T : IActorVpnMessage
    {
        if (_settings.Admission?.Invoke(Sender, command) is { } refusal)
        {
            _log.Warning("{0}: refused {1} from {2}: {3}", Me, typeof(T).Name, Sender, refusal);
            Sender.Tell(new AdminRefused($"{typeof(T).Name} refused: {refusal}"));
            return;
        }

        handle(command);
    }

    private void HandleRegisterUser(RegisterUser register)
    {
        if (!TopologyLoader.IsValidName(register.User))
        {
            Sender.Tell(new AdminRefused($"'{register.User}' is not a valid user name (letters, digits, '-' and '_')"));
            return;
        }

        X509Certificate2 issued;
        try
        {
            var now = Now;
            issued = Signer.Issue(CertificateKind.User, register.User, register.SubjectPublicKeyInfo, now.AddMinutes(-5), now + (register.Lifetime ?? _settings.UserCertificateLifetime));
        }
        catch (Exception e) when (e is CredentialException or CryptographicException or ArgumentException)
        {
            Sender.Tell(new AdminRefused($"cannot issue a certificate for '{register.User}': {e.Message}"));
            return;
        }

        var replyTo = Sender;
        // The profile's anchor checks the entry proxy, whose identity the current key signs until a rotation finishes; during one,
        // the profile also gets the new key's anchor, so it keeps reaching the proxy once their identities move to that key.
        var anchor = Authority.Certificate.RawData;
        var nextAnchor = _next?.Certificate.RawData;
        using (issued)
        {
            Persist(new UserRegistered(register.User, issued.RawData, Now, register.By), evt =>
            {
                ApplyEvent(evt);
                _log.Info("user {0} registered at {1} by {2}", evt.User, Me, evt.By);
                replyTo.Tell(new UserCertificateIssued(evt.User, evt.CertificateDer, anchor, nextAnchor));
            });
        }
    }

    private void HandleRevokeUser(RevokeUser revoke)
    {
        if (!_state.Users.ContainsKey(revoke.User))
        {
            Sender.Tell(new AdminRefused($"user '{revoke.User}' is not registered at {Me}"));
            return;
        }

        var replyTo = Sender;
        Persist(new UserRevoked(revoke.User, Now, revoke.By), evt =>
        {
            ApplyEvent(evt);
            _log.Info("user {0} revoked at {1} by {2}", evt.User, Me, evt.By);
            EndHandOffsOf(evt.User);
            Context.System.EventStream.Publish(new UserRevokedNotice(evt.User, Me));
            replyTo.Tell(new UserRevokedAck(evt.User));
        });
    }

    private void HandleIssuePeerCredential(IssuePeerCredential issue)
    {
        if (!_spec.Trusts.Contains(issue.Caller))
        {
            Sender.Tell(new AdminRefused($"{Me} does not trust {issue.Caller} (not in its 'trusts' list)"));
            return;
        }

        var now = Now;
        using var credential = Signer.Issue(CertificateKind.InterServer, issue.Caller, issue.CallerPublicKeyInfo, now.AddMinutes(-5), now + _settings.PeerCredentialLifetime);
        var replyTo = Sender;
        Persist(new PeerCredentialIssued(issue.Caller, credential.RawData, issue.ForNextKey), evt =>
        {
            ApplyEvent(evt);
            replyTo.Tell(new PeerCredential(Me, evt.Peer, evt.CertificateDer));
        });
    }

    private void HandleAcceptPeerCredential(AcceptPeerCredential accept)
    {
        var replyTo = Sender;
        if (accept.ForNextKey && _next is null)
        {
            Sender.Tell(new AdminRefused($"{Me} is not rotating its signing key: it has no new key for a credential from {accept.Issuer} to certify"));
            return;
        }

        Persist(new PeerCredentialReceived(accept.Issuer, accept.CertificateDer, accept.ForNextKey), evt =>
        {
            ApplyEvent(evt);
            replyTo.Tell(new PeerCredentialAccepted(evt.Issuer));
        });
    }

    private void HandleEnrollProxy(EnrollProxy enroll)
    {
        if (!_topology.HasProxy(enroll.Proxy) || _topology.Proxy(enroll.Proxy).AuthServer != Me)
        {
            Sender.Tell(new AdminRefused($"proxy '{enroll.Proxy}' does not belong to {Me}"));
            return;
        }

        var now = Now;
        using var certificate = Authority.Issue(CertificateKind.Proxy, enroll.Proxy, enroll.SubjectPublicKeyInfo, now.AddMinutes(-5), now + _settings.PeerCredentialLifetime);
        var replyTo = Sender;
        var anchor = Authority.Certificate.RawData;
        Persist(new ProxyEnrolled(enroll.Proxy, certificate.RawData, Pins.SpkiSha256(certificate), enroll.ListenAddress), evt =>
        {
            ApplyEvent(evt);
            replyTo.Tell(new ProxyIdentityIssued(evt.Proxy, evt.CertificateDer, anchor));
        });
    }

    /// <summary>Fig. 3 entry as vouched for by this server: the proxy, where it listens, and the pin of the identity issued to it.</summary>
    private RouteEntry RouteEntryFor(ProxySpec relay, ProxyEnrolled enrolled) =>
        new(relay.Name, Me, enrolled.ListenAddress ?? relay.Listen.ToString(), enrolled.Pin);

    private AuthServerIdentity Identity() => new(Me, _spec.Parent, Authority.Certificate.RawData, Authority.SubjectPublicKeyInfo, _state.CredentialsHeld,
        _next?.SubjectPublicKeyInfo, _next is null ? null : _state.CredentialsHeldNext);

    private AuthServerStatus Status() => new(
        Me,
        _spec.Parent,
        _tables.Members.Select(m => m.Name).ToList(),
        _spec.Routes.ToDictionary(r => r.Key, r => r.Value.ToString()!),
        _spec.Relays.ToDictionary(r => r.Key, r => r.Value),
        _state.CredentialsIssued.Keys.ToList(),
        _state.CredentialsHeld.Keys.ToList(),
        _state.Users.Values.Select(u => new UserView(u.Name, u.RegisteredAt, u.RevokedAt, u.ActiveSerials.Count)).ToList(),
        _held.Values.Select(h => new HeldCertificateView(h.HandOffId, h.User, h.Destination, h.RelayProxy, h.HeldSince, h.ExpiresAt)).ToList(),
        _pending.Count,
        _state.Proxies.ToDictionary(p => p.Key, p => p.Value.Pin));

    // ---------------------------------------------------------------- steps and faults

    /// <summary>Marks a patent step: published on the event stream, and a place where a harness may inject a fault.</summary>
    /// <param name="arriving">At Fig. 7 step 701, the request that arrives: what an injected delay sends again later.</param>
    /// <returns>false if the request must not be handled further now (an injected black hole, or a delay).</returns>
    private bool Step(PatentStep step, string handOffId, string detail, string? peer = null, object? arriving = null)
    {
        if (arriving is not null && _delayedArrived?.Remove(arriving) == true)
        {
            return true; // reached, published and delayed already: handled now, without asking the harness again
        }

        _telemetry.Step(handOffId, step);
        var reached = new HandOffStepReached(Me, step, handOffId, detail, peer);
        Context.System.EventStream.Publish(reached);
        _trail.Reached(reached);
        var decision = _interceptor?.OnStep(reached) ?? StepDecision.Continue;
        switch (decision.Action)
        {
            case StepAction.Crash:
                throw new InjectedFaultException($"fault injected at {Me}, {step.Cite()}");
            case StepAction.Hang:
                _log.Warning("fault injected at {0}, {1}: request dropped", Me, step.Cite());
                return false;
            case StepAction.Delay when arriving is not null:
                // Nothing has been done with the request yet, so handling it later is handling it as if it arrived later.
                // Its caller's ask timer runs meanwhile, so a delay past the hand-off timeout is a `timeout` there. A timer
                // of this incarnation: if the server crashes or stops first, the request is lost with it and its caller
                // times out, as for a request black-holed (no late copy reaches the recovered server).
                _log.Warning("fault injected at {0}, {1}: request delayed by {2} ms", Me, step.Cite(), decision.Delay.TotalMilliseconds);
                Timers.StartSingleTimer(new object(), new DelayedRequest(arriving, Sender), decision.Delay);
                return false;
            case StepAction.Delay:
                _log.Warning("fault injected at {0}, {1}: a delay is honoured only where a request arrives (Fig. 7 step 701); continuing", Me, step.Cite());
                return true;
            default:
                return true;
        }
    }

    /// <summary>A request delayed at step 701 is due: sent again from its sender, and handled without a second delay.</summary>
    private void HandleDelayedRequest(DelayedRequest delayed)
    {
        (_delayedArrived ??= new HashSet<object>(ReferenceEqualityComparer.Instance)).Add(delayed.Request);
        Self.Tell(delayed.Request, delayed.Sender);
    }

    /// <summary>Runs a handler while remembering whom it must answer, so a crash inside it still answers (see <see cref="PreRestart"/>).</summary>
    private void Answering(Caller? caller, Action handle)
    {
        _answering = caller;
        handle();
        _answering = null;
    }

    private static string NewHandOffId() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('+', '-').Replace('/', '_');

    // ---------------------------------------------------------------- private protocol and records

    private sealed record CallAnswered(string HandOffId, string Next, object Answer);

    /// <summary>Whom the request being handled right now must be answered.</summary>
    private sealed record Caller(IActorRef ReplyTo, bool FromClient, IReadOnlyList<string> Path);

    private sealed record CallFailed(string HandOffId, string Next, Exception Cause);

    /// <summary>A request an injected <see cref="StepAction.Delay"/> held back, with whom it came from.</summary>
    private sealed record DelayedRequest(object Request, IActorRef Sender);

    private sealed record Sweep
    {
        public static readonly Sweep Instance = new();
    }

    /// <summary>One hand-off this server is working on (waiting for the next server).</summary>
    private sealed record PendingHandOff(
        string HandOffId,
        IActorRef ReplyTo,
        bool FromClient,
        byte[] CertificateDer,
        string User,
        string Destination,
        IReadOnlyList<string> Path,
        string Next,
        DateTimeOffset Deadline,
        PatentStep Step,
        bool NextKey = false);

    /// <summary>Certificate 1 held after step 910 until the client authenticates at this server's proxy.</summary>
    private sealed record HeldCertificate(
        string HandOffId,
        byte[] CertificateDer,
        string User,
        string Destination,
        string RelayProxy,
        IReadOnlyList<RouteEntry> Route,
        IReadOnlyList<string> Path,
        IReadOnlyList<string> Holders,
        string? CalledNext,
        DateTimeOffset HeldSince,
        DateTimeOffset ExpiresAt);

    private sealed record OpenChallenge(string Caller, string HandOffId, byte[] CredentialDer, DateTimeOffset ExpiresAt);

    /// <param name="User">The user whose certificate 1 was handed off: set at the home server, for the routes it issued.</param>
    private sealed record IssuedRoute(IReadOnlyList<string> Holders, DateTimeOffset ExpiresAt, string? User = null);

    /// <param name="CertificateDer">Certificate 1 as this server held it; null where it held none.</param>
    private sealed record RevokedHandOff(string User, string Home, byte[]? CertificateDer, DateTimeOffset ExpiresAt);
}

/// <summary>Release whatever is held or pending for a hand-off (【0053】); forwarded down the chain.</summary>
/// <param name="RevokedUser">Set when the hand-off ends because its user was revoked at the home server: a hop that still
/// comes for it is refused with certificate-revoked.</param>
public sealed record ReleaseHandOff(string HandOffId, string? RevokedUser = null) : ActorVpn.Messaging.IActorVpnMessage;
