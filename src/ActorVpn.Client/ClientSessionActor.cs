using System.Net.Sockets;
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
/// One local connection of <c>avpn connect</c>, running Fig. 5: build the chain (501-507), relay
/// (508), and on any failure close the local connection and log the step and the hop (【0053】).
/// </summary>
public sealed class ClientSessionActor : ReceiveActor
{
    private readonly ClientProfile _profile;
    private readonly string _destination;
    private readonly Socket _local;
    private readonly TimeSpan _handshakeTimeout;
    private readonly TimeSpan _connectTimeout;
    private readonly CancellationTokenSource _cancel = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly RelayCounters _counters = new();
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private EstablishedChain? _chain;
    private string? _failure;
    private bool _endedCleanly;

    public ClientSessionActor(ClientProfile profile, string destination, Socket local, TimeSpan handshakeTimeout, TimeSpan connectTimeout)
    {
        _profile = profile;
        _destination = destination;
        _local = local;
        _handshakeTimeout = handshakeTimeout;
        _connectTimeout = connectTimeout;
        Receive<EstablishedChain>(OnChain);
        Receive<Status.Failure>(failure =>
        {
            var cause = failure.Cause is AggregateException { InnerException: { } inner } ? inner : failure.Cause;
            _failure = cause switch
            {
                ChainException chain => chain.Summary,
                OperationCanceledException => $"timeout: the chain was not up within {_handshakeTimeout.TotalSeconds:0.#} s",
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

    public static Props Props(ClientProfile profile, string destination, Socket local, TimeSpan handshakeTimeout, TimeSpan connectTimeout) =>
        Akka.Actor.Props.Create(() => new ClientSessionActor(profile, destination, local, handshakeTimeout, connectTimeout));

    protected override void PreStart()
    {
        _cancel.CancelAfter(_handshakeTimeout);
        ChainDialer.BuildAsync(_profile, _destination, _connectTimeout, TimeProvider.System, _cancel.Token).PipeTo(Self);
    }

    private void OnChain(EstablishedChain chain)
    {
        // Fig. 5 step 508: talk to the server.
        _chain = chain;
        _cancel.CancelAfter(Timeout.InfiniteTimeSpan);
        Context.System.EventStream.Publish(new ClientProtocol.SessionEstablished(Self.Path.Name, _profile.User, _destination, chain.Route, DateTimeOffset.UtcNow - _started));
        _log.Info("session {0}: '{1}' to '{2}' through [{3}]", Self.Path.Name, _profile.User, _destination, string.Join(", ", chain.Route));
        RelayPump.RunAsync(DuplexEnd.ForSocket(_local), chain.AsDuplexEnd(), _counters, _cancel.Token).PipeTo(Self);
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

        _cancel.Dispose();
        Context.System.EventStream.Publish(new ClientProtocol.SessionClosed(Self.Path.Name, _destination, _failure, _counters.BytesAToB, _counters.BytesBToA));
    }
}

/// <summary><c>avpn connect</c>: every TCP connection accepted on the local address becomes one <see cref="ClientSessionActor"/>.</summary>
public sealed class ClientListenerActor : ReceiveActor
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly Socket _listener;
    private long _sequence;

    public ClientListenerActor(ClientProfile profile, string destination, System.Net.IPEndPoint listen, TimeSpan handshakeTimeout, TimeSpan connectTimeout)
    {
        _listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(listen);
        _listener.Listen(1024);
        var address = _listener.LocalEndPoint!.ToString()!;
        Receive<Accepted>(accepted => Context.ActorOf(ClientSessionActor.Props(profile, destination, accepted.Socket, handshakeTimeout, connectTimeout), $"session-{++_sequence}"));
        Receive<ClientProtocol.AwaitListening>(_ => Sender.Tell(new ClientProtocol.ClientListening(address)));
    }

    public static Props Props(ClientProfile profile, string destination, System.Net.IPEndPoint listen, TimeSpan handshakeTimeout, TimeSpan connectTimeout) =>
        Akka.Actor.Props.Create(() => new ClientListenerActor(profile, destination, listen, handshakeTimeout, connectTimeout));

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
