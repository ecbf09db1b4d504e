using System.Diagnostics;
using System.Net.Sockets;
using ActorVpn.Observability.Logging;
using ActorVpn.Observability.Tracing;
using ActorVpn.Protocol;
using ActorVpn.Wire;
using Akka.Actor;
using Akka.Event;

namespace ActorVpn.Client;

/// <summary>Messages of the client side.</summary>
public static class ClientProtocol
{
    /// <summary>Published on the event stream when a session's chain is up (Fig. 5, step 508).</summary>
    public sealed record SessionEstablished(string SessionId, string User, string Destination, IReadOnlyList<string> Route, TimeSpan SetUp);

    /// <summary>Published on the event stream when a session ends, cleanly or not (Fig. 5, steps 509/510).</summary>
    public sealed record SessionClosed(string SessionId, string Destination, string? Failure, long BytesSent, long BytesReceived);

    public sealed record AwaitListening
    {
        public static readonly AwaitListening Instance = new();
    }

    public sealed record ClientListening(string Address);
}

/// <summary>
/// One local connection of <c>avpn connect</c>, running Fig. 5: learn the destination from the local application
/// (its <see cref="ILocalFront"/>), build the chain (501-507), tell the application, relay (508), and on any failure
/// answer the application with the refusal, close the local connection and log the step, the hop and the contract
/// error code (【0053】).
/// </summary>
public sealed class ClientSessionActor : ReceiveActor
{
    private readonly ClientProfile _profile;
    private readonly ILocalFront _front;
    private readonly Socket _local;
    private readonly NetworkStream _localStream;
    private readonly TimeSpan _handshakeTimeout;
    private readonly TimeSpan _connectTimeout;
    private readonly CancellationTokenSource _cancel = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly RelayCounters _counters = new();
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private string _destination = "?";
    private EstablishedChain? _chain;
    private string? _failure;
    private string? _failureCode;
    private Activity? _span;
    private bool _endedCleanly;

    public ClientSessionActor(ClientProfile profile, ILocalFront front, Socket local, TimeSpan handshakeTimeout, TimeSpan connectTimeout)
    {
        _profile = profile;
        _front = front;
        _local = local;
        _localStream = new NetworkStream(local, ownsSocket: false);
        _handshakeTimeout = handshakeTimeout;
        _connectTimeout = connectTimeout;
        Receive<ChainUp>(OnChain);
        Receive<ChainDown>(down =>
        {
            _destination = down.Destination;
            var cause = down.Cause is AggregateException { InnerException: { } inner } ? inner : down.Cause;
            _failureCode = cause switch
            {
                ChainException chain => chain.Code,
                OperationCanceledException => ErrorCodes.Timeout,
                LocalRequestException => ErrorCodes.ProtocolError,
                _ => ErrorCodes.Unreachable,
            };
            _failure = cause switch
            {
                ChainException chain => chain.Summary,
                OperationCanceledException => $"timeout: the chain was not up within {_handshakeTimeout.TotalSeconds:0.#} s",
                LocalRequestException local => $"protocol-error at the local application: {local.Message}",
                _ => cause.Message,
            };
            _log.Warning("session {0} of '{1}' to '{2}' failed: {3}; local connection closed (【0053】)", Self.Path.Name, _profile.User, _destination, _failure);
            Context.Stop(Self);
        });
        Receive<RelayOutcome>(outcome =>
        {
            _failure = outcome.Error;
            _endedCleanly = outcome.Clean;
            Context.Stop(Self);
        });
    }

    public static Props Props(ClientProfile profile, ILocalFront front, Socket local, TimeSpan handshakeTimeout, TimeSpan connectTimeout) =>
        Akka.Actor.Props.Create(() => new ClientSessionActor(profile, front, local, handshakeTimeout, connectTimeout));

    public static Props Props(ClientProfile profile, string destination, Socket local, TimeSpan handshakeTimeout, TimeSpan connectTimeout) =>
        Props(profile, new FixedDestinationFront(destination), local, handshakeTimeout, connectTimeout);

    protected override void PreStart()
    {
        // The handshake timeout covers the local request too: an application that opens a connection and says nothing holds nothing for long.
        _cancel.CancelAfter(_handshakeTimeout);
        // One trace per session attempt: this span is its root; each hop, proxy and auth server hangs under it.
        _span = Spans.Start("session", ActivityKind.Client);
        _span?.SetTag("avpn.user", _profile.User);
        LogContext.Set(Self.Path.ToString(), new LogIds(Self.Path.Name, null, _span?.TraceId.ToHexString()));
        SetUpAsync(_profile, _front, _localStream, _connectTimeout, _span, _cancel.Token).PipeTo(Self);
    }

    /// <summary>Fig. 5 steps 501-507, outside the actor: never throws, every outcome is a message.</summary>
    private static async Task<object> SetUpAsync(ClientProfile profile, ILocalFront front, NetworkStream local, TimeSpan connectTimeout, Activity? span, CancellationToken ct)
    {
        var destination = "?";
        var answered = false;
        try
        {
            var request = await front.NegotiateAsync(local, profile, ct);
            destination = request.Destination ?? request.Requested;
            if (request.Destination is null)
            {
                // Fig. 5 step 501: the profile names no entry proxy for it, so nothing is sent anywhere.
                throw new ChainException("Fig. 5, step 501", "-", ErrorCodes.UnknownDestination,
                    $"profile of '{profile.User}' has no destination '{request.Requested}' (known: {string.Join(", ", profile.Entries.Select(e => e.Value.DestinationAddress is { } a ? $"{e.Key} ({a})" : e.Key))})");
            }

            span?.SetTag("avpn.destination", request.Destination);
            var chain = await ChainDialer.BuildAsync(profile, request.Destination, connectTimeout, TimeProvider.System, ct, session: span);
            try
            {
                answered = true;
                await front.ConfirmAsync(local, ct);
            }
            catch
            {
                chain.Dispose();
                throw;
            }

            return new ChainUp(request.Destination, chain);
        }
        catch (Exception e)
        {
            if (!answered && e is ChainException or OperationCanceledException)
            {
                var code = e is ChainException chain ? chain.Code : ErrorCodes.Timeout;
                try
                {
                    // The application hears the refusal even when the hand-shake timed out: a short grace to write it.
                    using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                    await front.RefuseAsync(local, code, e.Message, grace.Token);
                }
                catch (Exception)
                {
                    // The application is gone: nothing left to tell it.
                }
            }

            return new ChainDown(destination, e);
        }
    }

    private void OnChain(ChainUp up)
    {
        // Fig. 5 step 508: talk to the server.
        _destination = up.Destination;
        _chain = up.Chain;
        _span?.SetTag("avpn.handoff.id", _chain.HandOffId);
        _span?.SetTag("avpn.route", _chain.Route.ToArray());
        LogContext.Set(Self.Path.ToString(), new LogIds(Self.Path.Name, _chain.HandOffId, _span?.TraceId.ToHexString()));
        _cancel.CancelAfter(Timeout.InfiniteTimeSpan);
        Context.System.EventStream.Publish(new ClientProtocol.SessionEstablished(Self.Path.Name, _profile.User, _destination, _chain.Route, DateTimeOffset.UtcNow - _started));
        _log.Info("session {0}: '{1}' to '{2}' through [{3}]", Self.Path.Name, _profile.User, _destination, string.Join(", ", _chain.Route));
        RelayPump.RunAsync(DuplexEnd.ForSocket(_local, _localStream), _chain.AsDuplexEnd(), _counters, _cancel.Token).PipeTo(Self);
    }

    protected override void PostStop()
    {
        // Fig. 5 steps 509/510: disconnect everything.
        _cancel.Cancel();
        _chain?.Dispose();
        try
        {
            // After a clean relay the local application still gets every byte queued for it (graceful close);
            // after a failure it sees its connection reset (【0053】).
            if (_endedCleanly)
            {
                _local.Dispose();
            }
            else
            {
                _local.Close(0);
            }
        }
        catch (ObjectDisposedException)
        {
        }

        _localStream.Dispose();
        _cancel.Dispose();
        LogContext.Remove(Self.Path.ToString());
        _span?.SetTag("avpn.bytes.sent", _counters.BytesAToB);
        _span?.SetTag("avpn.bytes.received", _counters.BytesBToA);
        if (_failureCode is not null)
        {
            Spans.Fail(_span, _failureCode, _failure);
        }
        else
        {
            Spans.Stop(_span);
        }

        Context.System.EventStream.Publish(new ClientProtocol.SessionClosed(Self.Path.Name, _destination, _failure, _counters.BytesAToB, _counters.BytesBToA));
    }

    private sealed record ChainUp(string Destination, EstablishedChain Chain);

    private sealed record ChainDown(string Destination, Exception Cause);
}

/// <summary><c>avpn connect</c>: every TCP connection accepted on the local address becomes one <see cref="ClientSessionActor"/> speaking its front.</summary>
public sealed class ClientListenerActor : ReceiveActor
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly Socket _listener;
    private long _sequence;

    public ClientListenerActor(ClientProfile profile, ILocalFront front, System.Net.IPEndPoint listen, TimeSpan handshakeTimeout, TimeSpan connectTimeout)
    {
        _listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(listen);
        _listener.Listen(1024);
        var address = _listener.LocalEndPoint!.ToString()!;
        Receive<Accepted>(accepted => Context.ActorOf(ClientSessionActor.Props(profile, front, accepted.Socket, handshakeTimeout, connectTimeout), $"session-{++_sequence}"));
        Receive<ClientProtocol.AwaitListening>(_ => Sender.Tell(new ClientProtocol.ClientListening(address)));
    }

    public static Props Props(ClientProfile profile, ILocalFront front, System.Net.IPEndPoint listen, TimeSpan handshakeTimeout, TimeSpan connectTimeout) =>
        Akka.Actor.Props.Create(() => new ClientListenerActor(profile, front, listen, handshakeTimeout, connectTimeout));

    public static Props Props(ClientProfile profile, string destination, System.Net.IPEndPoint listen, TimeSpan handshakeTimeout, TimeSpan connectTimeout) =>
        Props(profile, new FixedDestinationFront(destination), listen, handshakeTimeout, connectTimeout);

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        var self = Self;
        _ = AcceptLoop.RunAsync(_listener!, socket => self.Tell(new Accepted(socket)), _stopping.Token);
    }

    protected override void PostStop()
    {
        _stopping.Cancel();
        _listener.Dispose();
        _stopping.Dispose();
    }

    private sealed record Accepted(Socket Socket);
}
