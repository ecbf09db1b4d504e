using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.Credentials;
using ActorVpn.Observability.Metrics;
using ActorVpn.Topology;
using ActorVpn.Wire;
using ActorVpn.Wire.Admission;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.Protocol.AuthServerAdmin;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.Proxies;

/// <summary>
/// One proxy of Fig. 1: listens on its address, with a TLS identity issued by the auth server it
/// belongs to (it keeps its own private key and enrols only the public key), and runs one
/// <see cref="ProxyConnectionActor"/> per accepted connection. A connection that fails is stopped,
/// never restarted: a socket cannot be resumed.
/// <para>
/// Its identity is renewed on a timer, <see cref="DataPlaneSettings.IdentityRenewBefore"/> before
/// it expires, for the same key: the pin the auth server vouches for on routes stays the same, and a
/// client checking either certificate accepts it while both are valid (the overlap).
/// </para>
/// <para>
/// Anything from the network is hostile until authenticated: a connection holds a place in the
/// admission gates (<see cref="DataPlaneSettings.Limits"/>) until its client is authenticated, one
/// that finds them full is closed at once, and one that has not finished TLS and sent its request
/// by the pre-authentication deadline is stopped.
/// </para>
/// </summary>
public sealed class ProxyActor : ReceiveActor, IWithStash, IWithTimers
{
    private readonly ProxySpec _spec;
    private readonly ICanTell _authServer;
    private readonly DataPlaneSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<IActorRef, SessionCounters> _sessions = [];
    private readonly LeafKey _key = LeafKey.Create();
    private readonly AdmissionGates _gates;
    private readonly RefusalLog _refusals;
    private readonly RelayMeter _meter;

    private Socket? _listener;
    private X509Certificate2? _identity;
    private X509Certificate2? _previousIdentity; // still referenced by connections accepted before the last renewal
    private string _address = string.Empty;
    private long _accepted;
    private long _refused;
    private long _bytesOfEnded;
    private long _sequence;

    private readonly string? _advertise;
    private int _enrolAttempts;
    private string? _lastEnrolmentFailure;
    private DateTime _askedAt;
    private readonly List<IActorRef> _renewalWaiters = []; // operators' RenewProxyIdentity, answered when the identity comes

    /// <param name="advertise">The host peers and clients reach this proxy by, in place of its bind address (a cluster node's advertise-host); null: the bind address.</param>
    public ProxyActor(ProxySpec spec, ICanTell authServer, DataPlaneSettings settings, string? advertise = null)
    {
        _spec = spec;
        _advertise = advertise;
        _authServer = authServer;
        _settings = settings;
        _gates = settings.Limits.NewGates();
        _meter = new RelayMeter(spec.Name);
        _refusals = new RefusalLog(line => _log.Warning("{0}: {1}", spec.Name, line));
        Enrolling();
    }

    public static Props Props(ProxySpec spec, ICanTell authServer, DataPlaneSettings settings, string? advertise = null) =>
        Akka.Actor.Props.Create(() => new ProxyActor(spec, authServer, settings, advertise));

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        // Bind first, so the address the auth server vouches for is the one really listened on
        // (a topology may ask for port 0 in tests).
        var endpoint = new IPEndPoint(IPAddress.Parse(_spec.Listen.Host == "localhost" ? "127.0.0.1" : _spec.Listen.Host), _spec.Listen.Port);
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(endpoint);
            _listener.Listen(1024);
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"proxy {_spec.Name} cannot listen on {_spec.Listen}: {e.Message}", e);
        }

        var bound = (IPEndPoint)_listener.LocalEndPoint!;
        _address = new HostPort(_advertise ?? bound.Address.ToString(), bound.Port).ToString();
        Enrol();
    }

    private void Enrol()
    {
        if (_enrolAttempts == 0)
        {
            // The first request's answer can take up to its timeout: say it was sent, so a log of a proxy that never came up shows how far it got.
            _log.Info("proxy {0} asking {1} for its identity", _spec.Name, _spec.AuthServer);
        }

        _askedAt = DateTime.UtcNow;
        _authServer.Ask<object>(new EnrollProxy(_spec.Name, _key.SubjectPublicKeyInfo, _address), TimeSpan.FromSeconds(30))
            .PipeTo(Self, failure: e => new EnrolmentFailed(e));
    }

    /// <summary>Where this proxy is in getting its identity, for whoever waits on it to say why it is not listening yet.</summary>
    private ProxyEnrolmentState Enrolment(bool listening) =>
        new(_spec.Name, _spec.AuthServer, listening, _enrolAttempts, _lastEnrolmentFailure, DateTime.UtcNow - _askedAt);

    /// <summary>
    /// A proxy without an identity serves nobody, but the reason is often passing: its auth server is
    /// still recovering or failing over, or (on a cluster node) this node has not yet joined, so the
    /// auth server does not yet know it as a member. It asks again with back-off, saying why each time.
    /// </summary>
    private void EnrolLater(string reason)
    {
        _enrolAttempts++;
        _lastEnrolmentFailure = reason;
        var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 250 * Math.Pow(2, Math.Min(_enrolAttempts - 1, 7))));
        _log.Warning("proxy {0}: no identity from {1} yet ({2}); asking again in {3:0.###} s", _spec.Name, _spec.AuthServer, reason, delay.TotalSeconds);
        Timers.StartSingleTimer(nameof(RetryEnrolment), RetryEnrolment.Instance, delay);
    }

    protected override void PostStop()
    {
        _stopping.Cancel();
        _listener?.Dispose();
        _identity?.Dispose();
        _previousIdentity?.Dispose();
        _key.Dispose();
        _stopping.Dispose();
    }

    private void Enrolling()
    {
        Receive<ProxyIdentityIssued>(issued =>
        {
            using var certificate = CertificateText.FromDer(issued.CertificateDer);
            _identity = _key.AttachTo(certificate);
            _log.Info("proxy {0} listening on {1}, identity issued by {2} (pin {3})", _spec.Name, _address, _spec.AuthServer, Pins.SpkiSha256(certificate));
            ScheduleRenewal();
            StartAccepting();
            Become(Listening);
            Stash.UnstashAll();
        });
        Receive<AdminRefused>(refused => EnrolLater($"refused: {refused.Reason}"));
        Receive<EnrolmentFailed>(failed => EnrolLater(failed.Cause.GetBaseException().Message));
        Receive<RetryEnrolment>(_ => Enrol());
        Receive<GetEnrolmentState>(_ => Sender.Tell(Enrolment(listening: false)));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Listening()
    {
        Receive<Accepted>(accepted =>
        {
            string? refusal = "no peer address";
            if (accepted.Socket.RemoteEndPoint is not IPEndPoint peer || _gates.TryAdmit(peer.Address, out refusal) is not { } admitted)
            {
                _refusals.Refused(refusal ?? "refused");
                VpnMetrics.HandshakeRefused(_spec.Name, "admission-limit");
                accepted.Socket.Dispose();
                return;
            }

            _accepted++;
            var counters = new SessionCounters($"{_spec.Name}-{++_sequence}") { Admission = admitted, Relay = new RelayCounters { Meter = _meter } };
            var session = Context.ActorOf(ProxyConnectionActor.Props(_spec, _authServer, _identity!, _settings, accepted.Socket, counters), counters.Id);
            Context.Watch(session);
            _sessions[session] = counters;
            Timers.StartSingleTimer(counters.Id, new PreAuthDeadline(session), _settings.Limits.PreAuthTimeout);
        });
        Receive<PreAuthDeadline>(deadline =>
        {
            if (_sessions.TryGetValue(deadline.Session, out var counters) && counters.Admission is { WithinPreAuth: true })
            {
                // The client controls this part (TLS, then its request): one that stalls it is stopped well before the set-up deadline.
                _refusals.Refused($"no TLS handshake and request within {_settings.Limits.PreAuthTimeout.TotalSeconds:0.#} s");
                VpnMetrics.HandshakeRefused(_spec.Name, "pre-auth-timeout");
                Context.Stop(deadline.Session);
            }
        });
        Receive<Terminated>(terminated =>
        {
            if (_sessions.Remove(terminated.ActorRef, out var counters))
            {
                Timers.Cancel(counters.Id);
                _refused += counters.Refused ? 1 : 0;
                _bytesOfEnded += counters.Relay.BytesAToB + counters.Relay.BytesBToA;
            }
        });
        Receive<AwaitListening>(_ => Sender.Tell(new ProxyListening(_spec.Name, _address)));
        Receive<GetEnrolmentState>(_ => Sender.Tell(Enrolment(listening: true)));
        Receive<RenewProxyIdentity>(_ =>
        {
            _renewalWaiters.Add(Sender);
            Self.Tell(RenewIdentity.Instance);
        });
        Receive<RenewIdentity>(_ => _authServer.Ask<object>(new EnrollProxy(_spec.Name, _key.SubjectPublicKeyInfo, _address), TimeSpan.FromSeconds(30))
            .PipeTo(Self, failure: e => new EnrolmentFailed(e)));
        Receive<ProxyIdentityIssued>(issued =>
        {
            // Connections accepted until now keep the certificate they were handed; new ones get this one.
            using var certificate = CertificateText.FromDer(issued.CertificateDer);
            var previousNotAfter = NotAfterOf(_identity!);
            _previousIdentity?.Dispose();
            _previousIdentity = _identity;
            _identity = _key.AttachTo(certificate);
            _log.Info("proxy {0}: identity renewed by {1}, valid until {2:u} (pin unchanged)", _spec.Name, _spec.AuthServer, NotAfterOf(_identity));
            var renewed = new ProxyIdentityRenewed(_spec.Name, previousNotAfter, NotAfterOf(_identity));
            Context.System.EventStream.Publish(renewed);
            AnswerRenewalWaiters(renewed);
            ScheduleRenewal();
        });
        Receive<AdminRefused>(refused =>
        {
            AnswerRenewalWaiters(refused);
            RenewalFailed(refused.Reason);
        });
        Receive<EnrolmentFailed>(failed =>
        {
            AnswerRenewalWaiters(new AdminRefused($"{_spec.AuthServer} did not renew the identity of {_spec.Name}: {failed.Cause.GetBaseException().Message}"));
            RenewalFailed(failed.Cause.GetBaseException().Message);
        });
        Receive<GetProxyStatus>(_ => Sender.Tell(Status()));
        Receive<CloseSession>(close =>
        {
            foreach (var (session, counters) in _sessions.Where(s => s.Value.HandOffId == close.HandOffId))
            {
                session.Tell(close);
            }
        });
        Receive<CloseUserSessions>(close =>
        {
            foreach (var (session, counters) in _sessions.Where(s => s.Value.User == close.User))
            {
                session.Tell(new CloseSession(counters.HandOffId ?? counters.Id, close.Reason, close.Code, close.At));
            }
        });
    }

    /// <summary>Asks for a new identity <see cref="DataPlaneSettings.IdentityRenewBefore"/> before this one expires (half its remaining time if that is sooner).</summary>
    private void ScheduleRenewal()
    {
        var left = NotAfterOf(_identity!) - DateTimeOffset.UtcNow;
        var due = left - _settings.IdentityRenewBefore;
        if (due <= TimeSpan.Zero)
        {
            due = left / 2;
        }

        Timers.StartSingleTimer(nameof(RenewIdentity), RenewIdentity.Instance, due < MinimumRenewalDelay ? MinimumRenewalDelay : due);
    }

    /// <summary>The auth server did not answer or refused: the current identity still serves, so try again soon (before it expires).</summary>
    private void RenewalFailed(string reason)
    {
        var left = NotAfterOf(_identity!) - DateTimeOffset.UtcNow;
        var retry = TimeSpan.FromTicks(Math.Clamp(left.Ticks / 4, MinimumRenewalDelay.Ticks, TimeSpan.FromMinutes(5).Ticks));
        _log.Warning("proxy {0}: could not renew its identity at {1} ({2}); it expires at {3:u}, retrying in {4}", _spec.Name, _spec.AuthServer, reason, NotAfterOf(_identity!), retry);
        Timers.StartSingleTimer(nameof(RenewIdentity), RenewIdentity.Instance, retry);
    }

    private void AnswerRenewalWaiters(object answer)
    {
        foreach (var waiter in _renewalWaiters)
        {
            waiter.Tell(answer);
        }

        _renewalWaiters.Clear();
    }

    private static DateTimeOffset NotAfterOf(X509Certificate2 certificate) => new(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    private static readonly TimeSpan MinimumRenewalDelay = TimeSpan.FromMilliseconds(200);

    private void StartAccepting()
    {
        var self = Self;
        var log = _log;
        var name = _spec.Name;
        _ = AcceptLoop.RunAsync(_listener!, socket => self.Tell(new Accepted(socket)), _stopping.Token,
            (e, pause) => log.Warning("{0}: accept failed ({1}); pausing {2} ms before accepting again", name, e.SocketErrorCode, pause.TotalMilliseconds));
    }

    private ProxyStatus Status()
    {
        var live = _sessions.Values.Sum(c => Interlocked.Read(ref c.Relay.BytesAToB) + Interlocked.Read(ref c.Relay.BytesBToA));
        var views = _sessions.Values.Select(c => new ProxySessionView(c.Id, c.User, c.HandOffId, c.OnwardTo is null ? "handshake" : "relaying", c.OnwardTo,
            Interlocked.Read(ref c.Relay.BytesAToB), Interlocked.Read(ref c.Relay.BytesBToA), c.Since, c.ServerName)).ToList();
        return new ProxyStatus(_spec.Name, _spec.AuthServer, _address, _accepted, _refused, _bytesOfEnded + live, views);
    }

    private sealed record Accepted(Socket Socket);

    private sealed record PreAuthDeadline(IActorRef Session);

    private sealed record EnrolmentFailed(Exception Cause);

    private sealed record RetryEnrolment
    {
        public static readonly RetryEnrolment Instance = new();
    }

    private sealed record RenewIdentity
    {
        public static readonly RenewIdentity Instance = new();
    }
}
