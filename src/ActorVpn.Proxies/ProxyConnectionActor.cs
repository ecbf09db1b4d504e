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
/// </summary>
public sealed class ProxyConnectionActor : ReceiveActor, IWithTimers
{
    private readonly ProxySpec _proxy;
    private readonly ICanTell _authServer;
    private readonly X509Certificate2 _identity;
    private readonly DataPlaneSettings _settings;
    private readonly Socket _client;
    private readonly NetworkStream _clientStream;
    private readonly CancellationTokenSource _cancel = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private SslStream? _tls;
    private X509Certificate2? _clientCertificate;
    private ClientAuthenticated? _session;
    private string? _destination;
    private Socket? _onward;
    private string _stage = "tls";
    private bool _endedCleanly;
    private bool _established;
    private Activity? _hopSpan;
    private Activity? _relaySpan;
    private readonly SessionAudit _audit;

    public ProxyConnectionActor(ProxySpec proxy, ICanTell authServer, X509Certificate2 identity, DataPlaneSettings settings, Socket client, SessionCounters counters)
    {
        _proxy = proxy;
        _authServer = authServer;
        _identity = identity;
        _settings = settings;
        _client = client;
        _clientStream = new NetworkStream(client, ownsSocket: false);
        Counters = counters;
        _audit = new SessionAudit(Context.System.EventStream, proxy.Name, counters, PeerAddressOf(client));

        Receive<TlsAccepted>(OnTlsAccepted);
        Receive<FrameRead>(OnFrame);
        Receive<ClientAuthenticated>(OnAuthenticated);
        Receive<ClientRefused>(refused => Refuse(refused.Error.Code, refused.Error.Step, refused.Error.At, refused.Error.Message, refused.VerifiedUser));
        Receive<OnwardConnected>(OnOnwardConnected);
        Receive<RelayFinished>(OnRelayFinished);
        Receive<StepFailed>(failed => Abort(failed.Step, failed.Cause));
        Receive<HandshakeDeadline>(_ => Refuse(ErrorCodes.Timeout, "Fig. 6", _proxy.Name,
            $"the handshake did not finish within {_settings.HandshakeTimeout.TotalSeconds:0.#} s (stage {_stage})"));
        Receive<CloseSession>(OnClose);
        Receive<GetProxyStatus>(_ => Sender.Tell(View()));
        Receive<SessionLifetimeOver>(_ =>
        {
            // actorvpn.data-plane.max-session-lifetime: the client must authenticate again (Fig. 6) on a new session.
            _log.Info("{0}: session {1} of {2} closed: its maximum lifetime of {3} is over (【0053】)", _proxy.Name, Counters.Id, Counters.User, _settings.MaxSessionLifetime);
            Context.Stop(Self);
        });
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
        else if (_session is null && _stage == "asking auth server")
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

        Spans.Fail(_hopSpan, "unreachable", $"the connection closed at stage {_stage}"); // a no-op once the hop span ended
        if (_established)
        {
            VpnMetrics.SessionsActive.Add(-1, new KeyValuePair<string, object?>(VpnMetrics.Proxy, _proxy.Name));
        }

        Counters.Admission?.Dispose();

        _tls?.Dispose();
        _clientStream.Dispose();
        Close(_client, _endedCleanly);
        if (_onward is not null)
        {
            Close(_onward, _endedCleanly);
        }

        _cancel.Dispose();
        _clientCertificate?.Dispose();
        Counters.Ended = true;
    }

    private void OnTlsAccepted(TlsAccepted accepted)
    {
        Counters.Admission?.HandshakeDone();
        _tls = accepted.Tls;
        _clientCertificate = accepted.ClientCertificate;
        Counters.ServerName = accepted.Tls.TargetHostName;
        _audit.Presented(_clientCertificate.RawData, _clientCertificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        _stage = "auth";
        ReadFrame("Fig. 6, step 601");
    }

    private void OnFrame(FrameRead read)
    {
        switch (_stage, read.Message)
        {
            case ("auth", AuthRequest request):
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
                _stage = "asking auth server";
                _authServer.Ask<object>(new AuthenticateClient(_proxy.Name, _clientCertificate!.RawData, request.Destination, request.HandOffId, Counters.Id,
                        Spans.TraceParentOf(_hopSpan)), _settings.AuthTimeout)
                    .PipeTo(Self, failure: e => new StepFailed("Fig. 6, step 604", e));
                return;
            case ("connect", ConnectOnwards onwards):
                // Fig. 6 step 607: only the next hop of the route issued for this session; never an open relay.
                if (_session!.NextHop is not { } next || next.Proxy != onwards.Proxy)
                {
                    _log.Warning("{0}: refused to connect onwards to '{1}' for '{2}': not the next hop of this session's route (next: {3})",
                        _proxy.Name, onwards.Proxy, _session.User, _session.NextHop?.Proxy ?? "the destination");
                    Refuse(ErrorCodes.NoRoute, "Fig. 6, step 607", _proxy.Name, $"'{onwards.Proxy}' is not the next hop of this session's route");
                    return;
                }

                Connect(next.Proxy, next.Address);
                return;
            case ("connect", ConnectDestination destination):
                if (!IsExit || destination.Destination != _destination || _session!.DestinationAddress is null)
                {
                    _log.Warning("{0}: refused to connect to destination '{1}' for '{2}': {3}", _proxy.Name, destination.Destination, _session!.User,
                        IsExit ? "not this session's destination" : "this proxy is not the exit of the route");
                    Refuse(ErrorCodes.NoRoute, "Fig. 6, step 607", _proxy.Name,
                        IsExit ? $"'{destination.Destination}' is not this session's destination" : $"{_proxy.Name} is not the exit proxy of this route");
                    return;
                }

                Connect(destination.Destination, _session.DestinationAddress);
                return;
            default:
                Refuse("protocol-error", "Fig. 6", _proxy.Name, $"unexpected {read.Message.GetType().Name} while waiting for {(_stage == "auth" ? "an authentication request" : "a connect request")}");
                return;
        }
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
        _stage = "connect";
        if (_settings.MaxSessionLifetime > TimeSpan.Zero)
        {
            Timers.StartSingleTimer(nameof(SessionLifetimeOver), SessionLifetimeOver.Instance, _settings.MaxSessionLifetime);
        }

        var route = session.Route.Select(r => new RouteHop(r.Proxy, r.Address, r.Pin ?? string.Empty)).ToList();
        Write(new AuthAccepted(session.HandOffId, route, session.NextHop?.Proxy), "Fig. 6, step 605", then: () => ReadFrame("Fig. 6, step 607"));
    }

    /// <summary>
    /// 【0053】: the session is closed from outside (an operator, or a revocation of its user). With a code, the reason goes
    /// into the audit trail, and a client still authenticating here, which is waiting for an answer, is refused with it
    /// (e.g. certificate-revoked) instead of finding its connection simply gone.
    /// </summary>
    private void OnClose(CloseSession close)
    {
        _log.Info("{0}: session {1} closed at stage {2}: {3} (【0053】)", _proxy.Name, Counters.Id, _stage, close.Reason);
        if (close.Code is not { } code)
        {
            Context.Stop(Self);
            return;
        }

        Counters.Refused |= _stage != "relaying";
        _audit.Closed(code, close.At ?? _proxy.Name, close.Reason);
        if (_tls is null || _stage == "relaying")
        {
            Context.Stop(Self);
            return;
        }

        // Whatever the auth server or the client says from now on is not acted on: the session is over.
        Become(Closing);
        Write(new Refused(code, "【0053】", close.At ?? _proxy.Name, close.Reason), "【0053】", then: () => Context.Stop(Self));
    }

    private void Closing()
    {
        Receive<StepFailed>(_ => Context.Stop(Self));
        Receive<HandshakeDeadline>(_ => Context.Stop(Self));
        Receive<GetProxyStatus>(_ => Sender.Tell(View()));
        ReceiveAny(_ => { });
    }

    private void Connect(string name, string address)
    {
        // Fig. 6 step 608: connect onwards.
        _stage = $"connecting to {name}";
        Counters.OnwardTo = name;
        ConnectAsync(HostPort.Parse(address), _settings.ConnectTimeout, _cancel.Token).PipeTo(Self,
            success: socket => new OnwardConnected(name, socket),
            failure: e => new StepFailed($"Fig. 6, step 608 (connecting to {name} at {address})", e));
    }

    private void OnOnwardConnected(OnwardConnected connected)
    {
        _onward = connected.Socket;
        _stage = "relaying";
        Write(new Connected(connected.To), "Fig. 6, step 608", then: () =>
        {
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
            Receive<StepFailed>(failed => Abort(failed.Step, failed.Cause));
            Receive<HandshakeDeadline>(_ => Abort("Fig. 6", new TimeoutException("handshake deadline while writing")));
            Receive<CloseSession>(_ => Context.Stop(Self));
            Receive<SessionLifetimeOver>(_ => Context.Stop(Self));
            Receive<GetProxyStatus>(_ => Sender.Tell(View()));
        }
    }

    private void Refuse(string code, string step, string at, string message, string? verifiedUser = null)
    {
        Counters.Refused = true;
        if (_stage != "relaying")
        {
            VpnMetrics.HandshakeRefused(_proxy.Name, code);
            _hopSpan?.SetTag("avpn.error.at", at);
            Spans.Fail(_hopSpan, code, message);
        }

        _audit.Refused(code, at, message, verifiedUser);
        _log.Info("{0}: refused session {1}: {2} at {3} ({4}): {5}", _proxy.Name, Counters.Id, code, at, step, message);
        if (_tls is null || _stage == "relaying")
        {
            Context.Stop(Self);
            return;
        }

        Write(new Refused(code, step, at, message), step, then: () => Context.Stop(Self));
    }

    private void Abort(string step, Exception cause)
    {
        var reason = cause is FrameException frame ? $"bad frame ({frame.Error}): {frame.Message}" : cause.Message;
        Counters.Refused |= _stage != "relaying";
        if (_stage != "relaying")
        {
            var why = _stage == "tls" ? "tls-handshake" : cause is FrameException ? "protocol-error" : "unreachable";
            VpnMetrics.HandshakeRefused(_proxy.Name, why);
            Spans.Fail(_hopSpan, why, reason);
        }

        _audit.Refused(cause is FrameException ? "protocol-error" : "unreachable", _proxy.Name, $"{step}: {reason}");
        _log.Info("{0}: session {1} closed at {2} (stage {3}): {4}", _proxy.Name, Counters.Id, step, _stage, reason);
        if (cause is FrameException && _tls is not null && _stage is not "relaying")
        {
            Write(new Refused("protocol-error", step, _proxy.Name, reason), step, then: () => Context.Stop(Self));
            return;
        }

        Context.Stop(Self);
    }

    private ProxySessionView View() => new(Counters.Id, Counters.User, Counters.HandOffId, _stage, Counters.OnwardTo,
        Interlocked.Read(ref Counters.Relay.BytesAToB), Interlocked.Read(ref Counters.Relay.BytesBToA), Counters.Since, Counters.ServerName);

    /// <summary>The peer's IP address (no port: one source's many connections are one source in the audit trail).</summary>
    private static string PeerAddressOf(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint is System.Net.IPEndPoint ip ? ip.Address.ToString() : "?";
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return "?";
        }
    }

    internal static async Task<Socket> ConnectAsync(HostPort endpoint, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, deadline.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// After a clean relay (both directions reached EOF and were half-closed onwards) the socket is closed
    /// gracefully, so bytes still in its send buffer reach the peer; otherwise it is reset (RST).
    /// </summary>
    private static void Close(Socket socket, bool graceful)
    {
        try
        {
            if (graceful)
            {
                socket.Dispose();
                return;
            }

            socket.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private sealed record TlsAccepted(SslStream Tls, X509Certificate2 ClientCertificate);

    private sealed record FrameRead(ControlMessage Message);

    private sealed record WriteDone(Action Then);

    private sealed record OnwardConnected(string To, Socket Socket);

    private sealed record RelayFinished(RelayOutcome Outcome);

    private sealed record StepFailed(string Step, Exception Cause);

    private sealed record HandshakeDeadline
    {
        public static readonly HandshakeDeadline Instance = new();
    }

    private sealed record SessionLifetimeOver
    {
        public static readonly SessionLifetimeOver Instance = new();
    }
}

/// <summary>Live figures of one proxy connection, read by its proxy for the operator console.</summary>
public sealed class SessionCounters(string id)
{
    public string Id { get; } = id;

    public DateTimeOffset Since { get; } = DateTimeOffset.UtcNow;

    public RelayCounters Relay { get; init; } = new();

    public string? User { get; set; }

    public string? HandOffId { get; set; }

    public string? OnwardTo { get; set; }

    public string? ServerName { get; set; }

    public bool Refused { get; set; }

    public bool Ended { get; set; }

    /// <summary>Its places in the proxy's admission gates while it is not yet authenticated; null when the proxy admits without gates.</summary>
    public Admitted? Admission { get; init; }
}
