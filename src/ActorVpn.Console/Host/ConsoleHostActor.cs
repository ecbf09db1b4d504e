using System.Net;
using System.Net.Sockets;
using ActorVpn.OperatorConsole.Commands;
using ActorVpn.Wire;
using ActorVpn.Wire.Admission;
using Akka.Actor;
using Akka.Event;

namespace ActorVpn.OperatorConsole.Host;

/// <summary>
/// The console endpoint of a node (<c>/user/console</c>): listens, and runs one
/// <see cref="ConsoleConnectionActor"/> per accepted connection. A connection that fails is stopped,
/// never restarted, and never affects the others or the node. Until its operator has authenticated
/// a connection holds a place in the admission gates (<see cref="ConsoleLimits.Admission"/>): one
/// that finds them full is closed at once, so unauthenticated peers cannot exhaust the node.
/// </summary>
public sealed class ConsoleHostActor : ReceiveActor
{
    public const string Name = "console";

    private readonly CancellationTokenSource _stopping = new();
    private readonly Socket _listener;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly AdmissionGates _gates;
    private readonly RefusalLog _refusals;
    private long _sequence;

    public ConsoleHostActor(IPEndPoint endpoint, ConsoleAuthority authority, ConsoleCommands commands, ConsoleLimits limits)
    {
        _gates = limits.Admission.NewGates();
        _refusals = new RefusalLog(line => _log.Warning("console: {0}", line));
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(endpoint);
        _listener.Listen(64);
        var address = (IPEndPoint)_listener.LocalEndPoint!;
        Receive<AwaitListening>(_ => Sender.Tell(new Listening($"{address.Address}:{address.Port}")));
        Receive<Accepted>(accepted =>
        {
            string? refusal = "no peer address";
            if (accepted.Socket.RemoteEndPoint is not IPEndPoint peer || _gates.TryAdmit(peer.Address, out refusal) is not { } admitted)
            {
                _refusals.Refused(refusal ?? "refused");
                accepted.Socket.Dispose();
                return;
            }

            Context.ActorOf(ConsoleConnectionActor.Props(accepted.Socket, authority, commands, limits, admitted), $"operator-{++_sequence}");
        });
    }

    public static Props Props(IPEndPoint endpoint, ConsoleAuthority authority, ConsoleCommands commands, ConsoleLimits limits) =>
        Akka.Actor.Props.Create(() => new ConsoleHostActor(endpoint, authority, commands, limits));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        var self = Self;
        var log = _log;
        _ = AcceptLoop.RunAsync(_listener, socket => self.Tell(new Accepted(socket)), _stopping.Token,
            (e, pause) => log.Warning("console: accept failed ({0}); pausing {1} ms before accepting again", e.SocketErrorCode, pause.TotalMilliseconds));
    }

    protected override void PostStop()
    {
        _stopping.Cancel();
        _listener.Dispose();
        _stopping.Dispose();
    }

    public sealed record AwaitListening
    {
        public static readonly AwaitListening Instance = new();
    }

    public sealed record Listening(string Address);

    private sealed record Accepted(Socket Socket);
}
