using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.Credentials;
using ActorVpn.Topology;

namespace ActorVpn.OperatorConsole.Client;

/// <summary>
/// The operator's side of a console connection: TLS 1.3 to the endpoint named in the operator
/// credential, presenting the operator certificate and accepting only the node's pinned console
/// identity; then one request/reply frame pair per command.
/// </summary>
public sealed class ConsoleClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private readonly Socket _socket;
    private readonly SslStream _tls;
    private readonly TimeSpan _timeout;

    private ConsoleClient(Socket socket, SslStream tls, TimeSpan timeout)
    {
        _socket = socket;
        _tls = tls;
        _timeout = timeout;
    }

    /// <exception cref="IOException">The node is not reachable or refused the credential.</exception>
    public static async Task<ConsoleClient> ConnectAsync(OperatorCredential credential, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var endpoint = HostPort.TryParse(credential.Endpoint, out var problem) ?? throw new IOException($"console endpoint: {problem}");
        using var deadline = new CancellationTokenSource(limit);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        SslStream? tls = null;
        try
        {
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, deadline.Token);
            using var certificate = credential.CertificateWithKey();
            tls = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(TlsOptions(credential, certificate), deadline.Token);
            return new ConsoleClient(socket, tls, limit);
        }
        catch (Exception e) when (e is SocketException or AuthenticationException or OperationCanceledException or IOException)
        {
            if (tls is not null)
            {
                await tls.DisposeAsync();
            }

            socket.Dispose();
            throw new IOException($"cannot open the console at {credential.Endpoint}: {e.Message}", e);
        }
    }

    /// <summary>
    /// How a console client speaks TLS to a node: TLS 1.3 only, the operator certificate (with its key) as the
    /// client certificate, and the node trusted only if it presents the console authority pinned in the credential.
    /// </summary>
    public static SslClientAuthenticationOptions TlsOptions(OperatorCredential credential, X509Certificate2 certificateWithKey)
    {
        ArgumentNullException.ThrowIfNull(credential);
        return new SslClientAuthenticationOptions
        {
            TargetHost = ConsoleAuthority.ServerName,
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ClientCertificates = [certificateWithKey],
            LocalCertificateSelectionCallback = (_, _, _, _, _) => certificateWithKey,
            RemoteCertificateValidationCallback = (_, server, _, _) => server is X509Certificate2 presented && Pins.Matches(presented, credential.ServerPin),
        };
    }

    /// <summary>Runs one command on the node; a streaming command's parts are joined into the one reply.</summary>
    /// <exception cref="IOException">The connection failed or the node refused the credential.</exception>
    public async Task<ConsoleReply> RunAsync(IReadOnlyList<string> words)
    {
        var parts = new System.Text.StringBuilder();
        using var deadline = new CancellationTokenSource(_timeout);
        var last = await ExchangeAsync(words, reply =>
        {
            parts.Append(reply.Output);
            return Task.CompletedTask;
        }, deadline.Token, CancellationToken.None);
        return parts.Length == 0 ? last : last with { Output = parts.Append(last.Output).ToString() };
    }

    /// <summary>
    /// Runs a command that may stream (<c>cluster tail</c>): every part goes to <paramref name="onPart"/>
    /// as it arrives; <paramref name="stop"/> asks the node to end the stream, whose final reply is returned.
    /// </summary>
    /// <exception cref="IOException">The connection failed or the node refused the credential.</exception>
    public async Task<ConsoleReply> StreamAsync(IReadOnlyList<string> words, Func<ConsoleReply, Task> onPart, CancellationToken stop)
    {
        using var deadline = new CancellationTokenSource();
        return await ExchangeAsync(words, onPart, deadline.Token, stop, deadline);
    }

    private async Task<ConsoleReply> ExchangeAsync(IReadOnlyList<string> words, Func<ConsoleReply, Task> onPart, CancellationToken ct,
        CancellationToken stop, CancellationTokenSource? afterStop = null)
    {
        Task stopping = Task.CompletedTask;
        try
        {
            using (var write = new CancellationTokenSource(_timeout))
            {
                await ConsoleFrames.WriteRequestAsync(_tls, new ConsoleRequest(words), write.Token);
            }

            using var registration = stop.Register(() =>
            {
                // Any request ends a stream; the node answers with the stream's final reply (awaited below, with a deadline).
                afterStop?.CancelAfter(_timeout);
                stopping = ConsoleFrames.WriteRequestAsync(_tls, new ConsoleRequest(ConsoleReply.StopWords), CancellationToken.None).AsTask();
            });
            while (true)
            {
                var reply = await ConsoleFrames.ReadReplyAsync(_tls, ct);
                if (!reply.More)
                {
                    await stopping;
                    return reply;
                }

                await onPart(reply);
            }
        }
        catch (Exception e) when (e is InvalidDataException or SocketException or AuthenticationException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            throw new IOException($"console connection: {e.Message}", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _tls.DisposeAsync();
        _socket.Dispose();
    }
}
