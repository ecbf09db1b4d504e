using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.OperatorConsole.Commands;
using Akka.Actor;
using Akka.Event;

namespace ActorVpn.OperatorConsole.Host;

/// <summary>
/// One operator's console connection: TLS 1.3 with a required operator certificate (anything else
/// fails the handshake, before a single command is read), then request → command → reply, one at a
/// time. Every step runs asynchronously and comes back as a message, so a slow command delays only
/// this connection; when the connection drops, this actor stops and the node is unaffected.
/// </summary>
public sealed class ConsoleConnectionActor : ReceiveActor
{
    private readonly Socket _socket;
    private readonly ConsoleAuthority _authority;
    private readonly ConsoleCommands _commands;
    private readonly TimeSpan _handshakeTimeout;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private SslStream? _tls;
    private string _operator = "?";

    public ConsoleConnectionActor(Socket socket, ConsoleAuthority authority, ConsoleCommands commands, TimeSpan handshakeTimeout)
    {
        _socket = socket;
        _authority = authority;
        _commands = commands;
        _handshakeTimeout = handshakeTimeout;
        Receive<Authenticated>(authenticated =>
        {
            _tls = authenticated.Tls;
            _operator = authenticated.Operator;
            _log.Info("console: operator {0} connected from {1}", authenticated.Operator, _socket.RemoteEndPoint);
            ReadNext();
        });
        Receive<ConsoleRequest>(request => _commands.RunAsync(request.Args, _operator)
            .PipeTo(Self, failure: e => new ConsoleReply(ConsoleReply.Failed, string.Empty, $"the command failed: {e.GetBaseException().Message}")));
        Receive<ConsoleReply>(reply => ConsoleFrames.WriteReplyAsync(_tls!, reply, _stopping.Token).AsTask()
            .PipeTo(Self, success: () => Written.Instance, failure: e => new Ended($"write failed: {e.GetBaseException().Message}")));
        Receive<Written>(_ => ReadNext());
        Receive<Ended>(ended =>
        {
            _log.Info("console: connection from {0} ended: {1}", _socket.RemoteEndPoint, ended.Reason);
            Context.Stop(Self);
        });
    }

    public static Props Props(Socket socket, ConsoleAuthority authority, ConsoleCommands commands, TimeSpan handshakeTimeout) =>
        Akka.Actor.Props.Create(() => new ConsoleConnectionActor(socket, authority, commands, handshakeTimeout));

    protected override void PreStart() =>
        HandshakeAsync().PipeTo(Self, failure: e => new Ended($"refused: {e.GetBaseException().Message}"));

    protected override void PostStop()
    {
        _stopping.Cancel();
        _tls?.Dispose();
        _socket.Dispose();
        _stopping.Dispose();
    }

    private async Task<Authenticated> HandshakeAsync()
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        deadline.CancelAfter(_handshakeTimeout);
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

    private void ReadNext() =>
        ReadAsync(_tls!, _stopping.Token).PipeTo(Self, failure: e => new Ended(e.GetBaseException().Message));

    private static async Task<object> ReadAsync(Stream stream, CancellationToken ct) =>
        await ConsoleFrames.ReadRequestAsync(stream, ct) is { } request ? request : new Ended("closed by the operator");

    private sealed record Authenticated(SslStream Tls, string Operator);

    private sealed record Written
    {
        public static readonly Written Instance = new();
    }

    private sealed record Ended(string Reason);
}
