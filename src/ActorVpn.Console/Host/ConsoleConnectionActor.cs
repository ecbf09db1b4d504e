using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.OperatorConsole.Commands;
using ActorVpn.Wire.Admission;
using Akka.Actor;
using Akka.Event;

namespace ActorVpn.OperatorConsole.Host;

/// <summary>
/// One operator's console connection: TLS 1.3 with a required operator certificate (anything else
/// fails the handshake, before a single command is read), then request → command → reply, one at a
/// time. Every step runs asynchronously and comes back as a message, so a slow command delays only
/// this connection; when the connection drops, this actor stops and the node is unaffected.
/// <para>
/// A streaming command (<c>cluster tail</c>) runs as a child actor that sends replies here; they are
/// written one after another (at most <see cref="MaxQueued"/> waiting: a client that reads too
/// slowly loses events, with a note, rather than growing the node's memory). While it streams, the
/// next request read from the client stops it. A frame that breaks the protocol (another version,
/// oversized, not JSON) gets one refusal reply and the connection is closed.
/// </para>
/// </summary>
public sealed class ConsoleConnectionActor : ReceiveActor
{
    /// <summary>Most replies waiting to be written to one connection.</summary>
    public const int MaxQueued = 1024;

    private readonly Socket _socket;
    private readonly ConsoleAuthority _authority;
    private readonly ConsoleCommands _commands;
    private readonly ConsoleLimits _limits;
    private readonly Admitted _admitted;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<ConsoleReply> _queue = new();
    private SslStream? _tls;
    private IActorRef? _stream;
    private bool _writing;
    private bool _reading;
    private bool _closeAfterWrite;
    private int _dropped;
    private bool _lastWasFinal = true;
    private string _operator = "?";

    /// <param name="admitted">Its places in the admission gates, freed once the operator has authenticated.</param>
    public ConsoleConnectionActor(Socket socket, ConsoleAuthority authority, ConsoleCommands commands, ConsoleLimits limits, Admitted admitted)
    {
        _socket = socket;
        _authority = authority;
        _commands = commands;
        _limits = limits;
        _admitted = admitted;
        Receive<Authenticated>(authenticated =>
        {
            _admitted.Authenticated();
            _tls = authenticated.Tls;
            _operator = authenticated.Operator;
            _log.Info("console: operator {0} connected from {1}", authenticated.Operator, _socket.RemoteEndPoint);
            ReadNext();
        });
        Receive<ConsoleRequest>(request =>
        {
            _reading = false;
            if (_stream is not null)
            {
                _stream.Tell(StopStream.Instance); // its final reply follows; then the next request is read
                return;
            }

            if (request.Args.SequenceEqual(ConsoleReply.StopWords))
            {
                // A stop that crossed the stream's final reply: nothing to stop, and no reply (the client expects none).
                ReadNext();
                return;
            }

            var (props, refused) = _commands.StreamOf(request.Args, Self);
            if (refused is not null)
            {
                Enqueue(refused);
            }
            else if (props is not null)
            {
                _stream = Context.ActorOf(props, "stream");
                Context.Watch(_stream);
                ReadNext(); // a request while streaming stops the stream
            }
            else
            {
                _commands.RunAsync(request.Args, _operator)
                    .PipeTo(Self, failure: e => new ConsoleReply(ConsoleReply.Failed, string.Empty, $"the command failed: {e.GetBaseException().Message}"));
            }
        });
        Receive<ConsoleReply>(Enqueue);
        Receive<Written>(_ =>
        {
            _writing = false;
            if (_closeAfterWrite && _queue.Count == 0)
            {
                Self.Tell(new Ended("closed after a protocol error"));
                return;
            }

            WriteNext();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_stream), _ =>
        {
            // The stream sent its final reply before stopping; one that died without it still ends the command.
            _stream = null;
            if (!_queue.Any(r => !r.More) && !_lastWasFinal)
            {
                Enqueue(ConsoleReply.Failure("the stream ended unexpectedly (see `log peek`)"));
            }

            WriteNext(); // reads the next command once everything is written
        });
        Receive<ProtocolError>(error =>
        {
            _reading = false;
            _log.Warning("console: closing the connection from {0}: {1}", _socket.RemoteEndPoint, error.Reason);
            _stream?.Tell(StopStream.Instance);
            _closeAfterWrite = true;
            _queue.Clear();
            _queue.Enqueue(ConsoleReply.Failure($"refused: {error.Reason}; the connection is closed"));
            WriteNext();
        });
        Receive<Ended>(ended =>
        {
            _log.Info("console: connection from {0} ended: {1}", _socket.RemoteEndPoint, ended.Reason);
            Context.Stop(Self);
        });
    }

    public static Props Props(Socket socket, ConsoleAuthority authority, ConsoleCommands commands, ConsoleLimits limits, Admitted admitted) =>
        Akka.Actor.Props.Create(() => new ConsoleConnectionActor(socket, authority, commands, limits, admitted));

    protected override void PreStart() =>
        HandshakeAsync().PipeTo(Self, failure: e => new Ended($"refused: {e.GetBaseException().Message}"));

    protected override void PostStop()
    {
        _stopping.Cancel();
        _admitted.Dispose();
        _tls?.Dispose();
        _socket.Dispose();
        _stopping.Dispose();
    }

    private async Task<Authenticated> HandshakeAsync()
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        deadline.CancelAfter(_limits.Admission.PreAuthTimeout);
        var tls = new SslStream(new NetworkStream(_socket, ownsSocket: false), leaveInnerStreamOpen: false);
        string? operatorName = null;
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _authority.ServerIdentity,
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                // Only an operator certificate of this console's authority passes; the handshake fails otherwise.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is not X509Certificate2 presented || !_authority.IsOperator(presented, DateTimeOffset.UtcNow))
                    {
                        return false;
                    }

                    operatorName = presented.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
                    return true;
                },
            }, deadline.Token);
            return new Authenticated(tls, operatorName ?? "?");
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
    }

    private void Enqueue(ConsoleReply reply)
    {
        if (_closeAfterWrite)
        {
            return;
        }

        if (reply.More && _queue.Count >= MaxQueued)
        {
            _dropped++;
            return;
        }

        if (_dropped > 0)
        {
            _queue.Enqueue(ConsoleReply.Part($"({_dropped} event(s) dropped: the console client reads too slowly)\n"));
            _dropped = 0;
        }

        _queue.Enqueue(reply);
        WriteNext();
    }

    private void WriteNext()
    {
        if (_writing)
        {
            return;
        }

        if (!_queue.TryDequeue(out var reply))
        {
            // Every reply of the command is out: read the next command (unless a read is already waiting).
            if (_lastWasFinal && _stream is null)
            {
                ReadNext();
            }

            return;
        }

        _writing = true;
        _lastWasFinal = !reply.More;
        ConsoleFrames.WriteReplyAsync(_tls!, reply, _stopping.Token, _limits.MaxReply).AsTask()
            .PipeTo(Self, success: () => Written.Instance, failure: e => new Ended($"write failed: {e.GetBaseException().Message}"));
    }

    private void ReadNext()
    {
        if (_reading || _closeAfterWrite)
        {
            return;
        }

        _reading = true;
        ReadAsync(_tls!, _limits.MaxRequest, _stopping.Token).PipeTo(Self, failure: e => (e is AggregateException { InnerException: { } inner } ? inner : e) is InvalidDataException bad
            ? new ProtocolError(bad.Message)
            : new Ended(e.GetBaseException().Message));
    }

    private static async Task<object> ReadAsync(Stream stream, int maxRequest, CancellationToken ct) =>
        await ConsoleFrames.ReadRequestAsync(stream, ct, maxRequest) is { } request ? request : new Ended("closed by the operator");

    /// <summary>Tells a streaming command's actor to send its final reply and stop.</summary>
    public sealed record StopStream
    {
        public static readonly StopStream Instance = new();
    }

    private sealed record ProtocolError(string Reason);

    private sealed record Authenticated(SslStream Tls, string Operator);

    private sealed record Written
    {
        public static readonly Written Instance = new();
    }

    private sealed record Ended(string Reason);
}
