using System.Net;
using System.Net.Sockets;
using ActorVpn.OperatorConsole.Commands;
using ActorVpn.Wire;
using Akka.Actor;

namespace ActorVpn.OperatorConsole.Host;

/// <summary>
/// The console endpoint of a node (<c>/user/console</c>): listens, and runs one
/// <see cref="ConsoleConnectionActor"/> per accepted connection. A connection that fails is stopped,
/// never restarted, and never affects the others or the node.
/// </summary>
public sealed class ConsoleHostActor : ReceiveActor
{
    public const string Name = "console";

    private readonly CancellationTokenSource _stopping = new();
    private readonly Socket _listener;
    private long _sequence;

    public ConsoleHostActor(IPEndPoint endpoint, ConsoleAuthority authority, ConsoleCommands commands, TimeSpan handshakeTimeout)
    {
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(endpoint);
        _listener.Listen(64);
        var address = (IPEndPoint)_listener.LocalEndPoint!;
        Receive<AwaitListening>(_ => Sender.Tell(new Listening($"{address.Address}:{address.Port}")));
        Receive<Accepted>(accepted =>
            Context.ActorOf(ConsoleConnectionActor.Props(accepted.Socket, authority, commands, handshakeTimeout), $"operator-{++_sequence}"));
    }

    public static Props Props(IPEndPoint endpoint, ConsoleAuthority authority, ConsoleCommands commands, TimeSpan handshakeTimeout) =>
        Akka.Actor.Props.Create(() => new ConsoleHostActor(endpoint, authority, commands, handshakeTimeout));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        var self = Self;
        _ = AcceptLoop.RunAsync(_listener, socket => self.Tell(new Accepted(socket)), _stopping.Token);
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
