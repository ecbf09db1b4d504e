using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.Observability.Logging;
using ActorVpn.Observability.Metrics;
using ActorVpn.Observability.Tracing;
using ActorVpn.Protocol;
using ActorVpn.Topology;
using ActorVpn.Wire;
using ActorVpn.Wire.Admission;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.Protocol.ClientAuthProtocol;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.Proxies;

/// <summary>
/// One client connection at a proxy, running Fig. 6: 601 take the authentication request, 602-604 ask
/// this proxy's own auth server, 605 answer (with the route at the entry proxy), 607 accept "connect
/// onwards" only to the next hop of the route issued for this session (or, at the exit proxy, only to
/// this session's destination), 608 relay both ways, 609 close the other side when one closes.
///
/// The actor decides; bytes move in <see cref="RelayPump"/>. Once the next hop is up, a middle proxy
/// relays the client's inner TLS session as raw ciphertext: it never sees plaintext.
///
/// Each step of Fig. 6 is a behaviour (<see cref="AwaitingTls"/>, <see cref="AwaitingAuthRequest"/>, <see cref="AskingAuthServer"/>,
/// <see cref="AwaitingConnect"/>, <see cref="ConnectingOnwards"/>, <see cref="Relaying"/>, <see cref="Closing"/>): a message is acted
/// on only in the step that expects it. The stage name is what the operator's view and the log show.
/// </summary>
public sealed partial class ProxyConnectionActor : ReceiveActor, IWithTimers
{
    private readonly ProxySpec _proxy;
    private readonly ICanTell _authServer;
    private readonly X509Certificate2 _identity;
    private readonly DataPlaneSettings _settings;
    private readonly Socket _client;
    private readonly NetworkStream _clientStream;
    private readonly CancellationTokenSource _cancel = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SessionAudit _audit;

    private SslStream? _tls;
    private X509Certificate2? _clientCertificate;
    private ClientAuthenticated? _session;
    private string? _destination;
    private Socket? _onward;
    private string _stage = "tls";
    private bool _endedCleanly;
    private bool _refusalWritten;
    private bool _established;
    private Activity? _hopSpan;
    private Activity? _relaySpan;

    public ProxyConnectionActor(ProxySpec proxy, ICanTell authServer, X509Certificate2 identity, DataPlaneSettings settings, Socket client, SessionCounters counters)
    {
        _proxy = proxy;
        _authServer = authServer;
        _identity = identity;
        _settings = settings;
        _client = client;
        _clientStream = new NetworkStream(client, ownsSocket: false);
        Counters = counters;
        _audit = new SessionAudit(Context.System.EventStream, proxy.Name, counters, ProxySockets.PeerAddressOf(client));
        AwaitingTls();
    }

    public static Props Props(ProxySpec proxy, ICanTell authServer, X509Certificate2 identity, DataPlaneSettings settings, Socket client, SessionCounters counters) =>
        Akka.Actor.Props.Create(() => new ProxyConnectionActor(proxy, authServer, identity, settings, client, counters));

    public ITimerScheduler Timers { get; set; } = null!;

    public SessionCounters Counters { get; }

    private bool IsExit => _session is { NextHop: null };

    protected override void PreStart()
    {
        LogContext.Set(Self.Path.ToString(), new LogIds(Counters.Id, null, null));
        Timers.StartSingleTimer(nameof(HandshakeDeadline), HandshakeDeadline.Instance, _settings.HandshakeTimeout);
        // Fig. 6 step 601: the client authenticates in TLS 1.3 with certificate 1; this proxy with the identity its auth server issued.
        TlsHop.AcceptAsync(_clientStream, _identity, _cancel.Token).PipeTo(Self,
            success: accepted => new TlsAccepted(accepted.Tls, accepted.ClientCertificate),
            failure: e => new StepFailed("Fig. 6, step 601 (TLS)", e));
    }

    protected override void PostStop()
    {
        _cancel.Cancel();
        if (_session is { Route.Count: > 0 } entry)
        {
            // The entry proxy's session is over: the home server releases what is still held downstream.
            _authServer.Tell(new SessionEnded(entry.HandOffId), ActorRefs.NoSender);
        }
        else if (_session is null && _stage == AskingAuthServerStage)
        {
            // Its ask timed out or the client left: the auth server drops or releases the hand-off now, not after the hold timeout.
            _authServer.Tell(new ClientAbandoned(Counters.Id), ActorRefs.NoSender);
        }

        _audit.Ended();
        LogContext.Remove(Self.Path.ToString());
        if (_relaySpan is not null)
        {
            _relaySpan.SetTag("avpn.bytes.to_destination", Interlocked.Read(ref Counters.Relay.BytesAToB));
            _relaySpan.SetTag("avpn.bytes.to_client", Interlocked.Read(ref Counters.Relay.BytesBToA));
            Spans.Stop(_relaySpan);
        }

        Spans.Fail(_hopSpan, ErrorCodes.Unreachable, $"the connection closed at stage {_stage}"); // a no-op once the hop span ended
        if (_established)
        {
            VpnMetrics.SessionsActive.Add(-1, new KeyValuePair<string, object?>(VpnMetrics.Proxy, _proxy.Name));
        }

        _tls?.Dispose();
        _clientStream.Dispose();
        if (_refusalWritten)
        {
            _ = ProxySockets.CloseAfterRefusalAsync(_client, _settings.RefusalLinger, Counters.Admission);
        }
        else
        {
            Counters.Admission?.Dispose();
            ProxySockets.Close(_client, _endedCleanly);
        }

        if (_onward is not null)
        {
            ProxySockets.Close(_onward, _endedCleanly);
        }

        _cancel.Dispose();
        _clientCertificate?.Dispose();
    }

    private const string AskingAuthServerStage = "asking auth server";

    private void Enter(string stage, Action behaviour)
    {
        _stage = stage;
        Become(behaviour);
    }

    /// <summary>What every step before the relay answers: failures, the handshake deadline, a close from outside, the operator.</summary>
    private void Handshaking(string failureKind)
    {
        Receive<StepFailed>(failed => Abort(failed.Step, failed.Cause, failureKind));
        Receive<HandshakeDeadline>(_ => Refuse(ErrorCodes.Timeout, "Fig. 6", _proxy.Name,
            $"the handshake did not finish within {_settings.HandshakeTimeout.TotalSeconds:0.#} s (stage {_stage})"));
        Receive<CloseSession>(OnCloseWhileHandshaking);
        Receive<SessionLifetimeOver>(_ => OnLifetimeOver());
        Receive<GetProxyStatus>(_ => Sender.Tell(View()));
    }

    /// <summary>Fig. 6 step 601: the TLS handshake.</summary>
    private void AwaitingTls()
    {
        Receive<TlsAccepted>(OnTlsAccepted);
        Handshaking("tls-handshake");
    }

    /// <summary>Fig. 6 step 601: the authentication request, inside the TLS session.</summary>
    private void AwaitingAuthRequest()
    {
        Receive<FrameRead>(read => read.Message is AuthRequest request, read => OnAuthRequest((AuthRequest)read.Message));
        Receive<FrameRead>(read => UnexpectedFrame(read, "an authentication request"));
        Handshaking(ErrorCodes.Unreachable);
    }

    /// <summary>Fig. 6 steps 602-604: this proxy's own auth server judges the certificate.</summary>
    private void AskingAuthServer()
    {
        Receive<ClientAuthenticated>(authenticated =>
        {
            Timers.Cancel(nameof(AuthAnswerOverdue));
            OnAuthenticated(authenticated);
        });
        Receive<ClientRefused>(refused =>
        {
            Timers.Cancel(nameof(AuthAnswerOverdue));
            Refuse(refused.Error.Code, refused.Error.Step, refused.Error.At, refused.Error.Message, refused.VerifiedUser);
        });
        Receive<AuthAnswerOverdue>(_ => Abort("Fig. 6, step 604",
            new TimeoutException($"{_proxy.AuthServer} did not answer within {_settings.AuthTimeout.TotalSeconds:0.#} s"), ErrorCodes.Unreachable));
        Handshaking(ErrorCodes.Unreachable);
    }

    /// <summary>Fig. 6 step 607: "connect onwards" to the next hop of the route, or to the destination at the exit proxy.</summary>
    private void AwaitingConnect()
    {
        Receive<FrameRead>(read => read.Message is ConnectOnwards, read => OnConnectOnwards((ConnectOnwards)read.Message));
        Receive<FrameRead>(read => read.Message is ConnectDestination, read => OnConnectDestination((ConnectDestination)read.Message));
        Receive<FrameRead>(read => UnexpectedFrame(read, "a connect request"));
        Handshaking(ErrorCodes.Unreachable);
    }

    /// <summary>Fig. 6 step 608: connecting onwards.</summary>
    private void ConnectingOnwards()
    {
        Receive<OnwardConnected>(OnOnwardConnected);
        Handshaking(ErrorCodes.Unreachable);
    }

    /// <summary>Fig. 6 steps 608/609: bytes move in the relay until one side closes; the handshake is over, so nothing is refused any more.</summary>
    private void Relaying()
    {
        Receive<RelayFinished>(OnRelayFinished);
        Receive<CloseSession>(close =>
        {
            _log.Info("{0}: session {1} closed while relaying: {2} (【0053】)", _proxy.Name, Counters.Id, close.Reason);
            if (close.Code is { } code)
            {
                _audit.Closed(code, close.At ?? _proxy.Name, close.Reason);
            }

            Context.Stop(Self);
        });
        Receive<SessionLifetimeOver>(_ => OnLifetimeOver());
        Receive<GetProxyStatus>(_ => Sender.Tell(View()));
        Receive<HandshakeDeadline>(_ => { }); // cancelled as the relay started; one already queued is stale
    }

    /// <summary>A refusal is on its way to the client: whatever the auth server or the client says from now on is not acted on.</summary>
    private void Closing()
    {
        Receive<StepFailed>(_ => Context.Stop(Self));
        Receive<HandshakeDeadline>(_ => Context.Stop(Self));
        Receive<GetProxyStatus>(_ => Sender.Tell(View()));
        ReceiveAny(_ => { });
    }

    private void OnTlsAccepted(TlsAccepted accepted)
    {
        Counters.Admission?.HandshakeDone();
        _tls = accepted.Tls;
        _clientCertificate = accepted.ClientCertificate;
        // Server names compare case-insensitively; a client spells the one name by its hop's position (TlsHop.ServerNameForHop).
        Counters.ServerName = accepted.Tls.TargetHostName.ToLowerInvariant();
        _audit.Presented(_clientCertificate.RawData, _clientCertificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        Enter("auth", AwaitingAuthRequest);
        ReadFrame("Fig. 6, step 601");
    }

    private void OnAuthRequest(AuthRequest request)
    {
        // Fig. 6 steps 602-604: forward certificate 1 to this proxy's own auth server and wait.
        Counters.Admission?.RequestRead();
        _destination = request.Destination;
        // Known from here, not only once authenticated: a revocation that reaches this proxy while the
        // auth server is still judging the certificate closes this session too.
        Counters.User = _clientCertificate!.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        // Fig. 6 at this proxy as a span of the client's trace (its hop span sent the context), from the accepted connection on.
        _hopSpan = Spans.Start($"tls hop {_proxy.Name}", ActivityKind.Server, Spans.Parse(request.TraceParent), Counters.Since);
        _hopSpan?.SetTag(VpnMetrics.Proxy, _proxy.Name);
        LogContext.Set(Self.Path.ToString(), new LogIds(Counters.Id, request.HandOffId, _hopSpan?.TraceId.ToHexString()));
        _audit.Requested(request.Destination);
        Enter(AskingAuthServerStage, AskingAuthServer);
        // Told with this actor as the sender rather than asked: the auth server's answer lands in this mailbox directly, with no
        // temporary actor, task and continuation per hop of every set-up; the deadline is a timer of this actor.
        Timers.StartSingleTimer(nameof(AuthAnswerOverdue), AuthAnswerOverdue.Instance, _settings.AuthTimeout);
        _authServer.Tell(new AuthenticateClient(_proxy.Name, _clientCertificate!.RawData, request.Destination, request.HandOffId, Counters.Id,
            Spans.TraceParentOf(_hopSpan)), Self);
    }

    private void OnAuthenticated(ClientAuthenticated session)
    {
        // Fig. 6 step 605: success, with the route if the auth server sent one (the entry proxy).
        Counters.Admission?.Authenticated();
        _session = session;
        _clientCertificate?.Dispose(); // judged by the auth server; not needed for the rest of the session
        _clientCertificate = null;
        _audit.Authenticated(session);
        Counters.User = session.User;
        Counters.HandOffId = session.HandOffId;
        LogContext.Set(Self.Path.ToString(), new LogIds(Counters.Id, session.HandOffId, _hopSpan?.TraceId.ToHexString()));
        _hopSpan?.SetTag("avpn.handoff.id", session.HandOffId);
        Enter("connect", AwaitingConnect);
        if (_settings.MaxSessionLifetime > TimeSpan.Zero)
        {
            Timers.StartSingleTimer(nameof(SessionLifetimeOver), SessionLifetimeOver.Instance, _settings.MaxSessionLifetime);
        }

        var route = session.Route.Select(r => new RouteHop(r.Proxy, r.Address, r.Pin ?? string.Empty)).ToList();
        Write(new AuthAccepted(session.HandOffId, route, session.NextHop?.Proxy), "Fig. 6, step 605", then: () => ReadFrame("Fig. 6, step 607"));
    }

    private void OnConnectOnwards(ConnectOnwards onwards)
    {
        // Fig. 6 step 607: only the next hop of the route issued for this session; never an open relay.
        if (_session!.NextHop is not { } next || next.Proxy != onwards.Proxy)
        {
            _log.Warning("{0}: refused to connect onwards to '{1}' for '{2}': not the next hop of this session's route (next: {3})",
                _proxy.Name, onwards.Proxy, _session.User, _session.NextHop?.Proxy ?? "the destination");
            Refuse(ErrorCodes.NoRoute, "Fig. 6, step 607", _proxy.Name, $"'{onwards.Proxy}' is not the next hop of this session's route");
            return;
        }

        Connect(next.Proxy, next.Address);
    }

    private void OnConnectDestination(ConnectDestination destination)
    {
        if (!IsExit || destination.Destination != _destination || _session!.DestinationAddress is null)
        {
            _log.Warning("{0}: refused to connect to destination '{1}' for '{2}': {3}", _proxy.Name, destination.Destination, _session!.User,
                IsExit ? "not this session's destination" : "this proxy is not the exit of the route");
            Refuse(ErrorCodes.NoRoute, "Fig. 6, step 607", _proxy.Name,
                IsExit ? $"'{destination.Destination}' is not this session's destination" : $"{_proxy.Name} is not the exit proxy of this route");
            return;
        }

        Connect(destination.Destination, _session.DestinationAddress);
    }

    private void Connect(string name, string address)
    {
        // Fig. 6 step 608: connect onwards.
        Enter($"connecting to {name}", ConnectingOnwards);
        Counters.OnwardTo = name;
        ProxySockets.ConnectAsync(HostPort.Parse(address), _settings.ConnectTimeout, _cancel.Token).PipeTo(Self,
            success: socket => new OnwardConnected(name, socket),
            failure: e => new StepFailed($"Fig. 6, step 608 (connecting to {name} at {address})", e));
    }

    private void OnOnwardConnected(OnwardConnected connected)
    {
        _onward = connected.Socket;
        Write(new Connected(connected.To), "Fig. 6, step 608", then: () =>
        {
            Enter("relaying", Relaying);
            Timers.Cancel(nameof(HandshakeDeadline));
            _established = true;
            Spans.Stop(_hopSpan);
            // Fig. 6 steps 608/609: the relay, a span that ends with the session.
            _relaySpan = Spans.StartChild(_hopSpan, $"relay {_proxy.Name}", ActivityKind.Internal);
            _relaySpan?.SetTag(VpnMetrics.Proxy, _proxy.Name);
            _relaySpan?.SetTag("avpn.relay.to", connected.To);
            VpnMetrics.SessionsEstablished.Add(1, new KeyValuePair<string, object?>(VpnMetrics.Proxy, _proxy.Name));
            VpnMetrics.SessionsActive.Add(1, new KeyValuePair<string, object?>(VpnMetrics.Proxy, _proxy.Name));
            // Fig. 6 steps 608/609. A middle proxy relays the client's next TLS session as raw bytes;
            // the exit proxy decrypts (its TLS session is the client's end-to-end one) and talks plain TCP to the destination (【0018】).
            var clientEnd = IsExit ? DuplexEnd.ForTls(_tls!, _client) : DuplexEnd.ForSocket(_client, _clientStream);
            if (!IsExit)
            {
                // A middle proxy relays the client's next TLS session as raw bytes and never uses its own again: free its TLS
                // state now, so an idle session holds no TLS session here. Disposing sends nothing on the socket.
                _tls!.Dispose();
                _tls = null;
            }

            var onwardEnd = DuplexEnd.ForSocket(_onward);
            RelayPump.RunAsync(clientEnd, onwardEnd, Counters.Relay, _cancel.Token).PipeTo(Self,
                success: outcome => new RelayFinished(outcome),
                failure: e => new RelayFinished(new RelayOutcome(0, 0, false, e.Message)));
        });
    }

    private void OnRelayFinished(RelayFinished finished)
    {
        // Fig. 6 step 609: one side closed, the other is closed too.
        _log.Debug("{0}: session {1} ended ({2} bytes in, {3} out{4})", _proxy.Name, Counters.Id, finished.Outcome.BytesAToB, finished.Outcome.BytesBToA,
            finished.Outcome.Error is null ? string.Empty : $", {finished.Outcome.Error}");
        _endedCleanly = finished.Outcome.Clean;
        Context.Stop(Self);
    }

    private void ReadFrame(string step) =>
        FrameCodec.ReadAsync(_tls!, _cancel.Token).AsTask().PipeTo(Self,
            success: message => new FrameRead(message),
            failure: e => new StepFailed(step, e));

    private void Write(ControlMessage message, string step, Action then)
    {
        FrameCodec.WriteAsync(_tls!, message, _cancel.Token).AsTask().PipeTo(Self,
            success: () => new WriteDone(then),
            failure: e => new StepFailed(step, e));
        BecomeStacked(AwaitingWrite);

        void AwaitingWrite()
        {
            Receive<WriteDone>(done =>
            {
                UnbecomeStacked();
                done.Then();
            });
            Receive<StepFailed>(failed => Abort(failed.Step, failed.Cause, ErrorCodes.Unreachable));
            Receive<HandshakeDeadline>(_ => Abort("Fig. 6", new TimeoutException("handshake deadline while writing"), ErrorCodes.Unreachable));
            Receive<CloseSession>(_ => Context.Stop(Self));
            Receive<SessionLifetimeOver>(_ => Context.Stop(Self));
            Receive<GetProxyStatus>(_ => Sender.Tell(View()));
        }
    }

    private ProxySessionView View() => new(Counters.Id, Counters.User, Counters.HandOffId, _stage, Counters.OnwardTo,
        Interlocked.Read(ref Counters.Relay.BytesAToB), Interlocked.Read(ref Counters.Relay.BytesBToA), Counters.Since, Counters.ServerName);
}
