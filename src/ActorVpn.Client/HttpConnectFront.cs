using System.Net.Sockets;
using System.Text;
using ActorVpn.Protocol;
using ActorVpn.Topology;

namespace ActorVpn.Client;

/// <summary>
/// <c>avpn connect --http-proxy</c>: an HTTP proxy that serves only CONNECT (RFC 9110, section 9.3.6), e.g.
/// <c>curl -p -x http://127.0.0.1:8080 http://server/</c>. The authority names a destination by its name (any port)
/// or by the address the topology gives it; each CONNECT becomes one session through the chain (Fig. 5).
/// </summary>
public sealed class HttpConnectFront : ILocalFront
{
    public static readonly HttpConnectFront Instance = new();

    /// <summary>A request head larger than this is not a CONNECT any client sends.</summary>
    private const int MaxHeadBytes = 8 * 1024;

    /// <summary>The HTTP status that says what a contract error code means to the application.</summary>
    public static (int Status, string Reason) StatusFor(string code) => code switch
    {
        ErrorCodes.UnknownUser or ErrorCodes.UntrustedPeer or ErrorCodes.CertificateRevoked or ErrorCodes.CertificateExpired => (403, "Forbidden"),
        ErrorCodes.Timeout => (504, "Gateway Timeout"),
        _ => (502, "Bad Gateway"),
    };

    public async Task<LocalRequest> NegotiateAsync(NetworkStream local, ClientProfile profile, CancellationToken ct)
    {
        var head = await ReadHeadAsync(local, ct);
        var requestLine = head.Split("\r\n", 2)[0];
        var parts = requestLine.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            await WriteAsync(local, 400, "Bad Request", null, "not an HTTP/1.x request line", ct);
            throw new LocalRequestException("not an HTTP/1.x request");
        }

        if (parts[0] != "CONNECT")
        {
            await WriteAsync(local, 405, "Method Not Allowed", null, "this proxy serves only CONNECT (curl: -p, --proxytunnel)", ct);
            throw new LocalRequestException($"HTTP {parts[0]} is not supported (only CONNECT)");
        }

        if (HostPort.TryParse(parts[1], out var problem) is not { } authority)
        {
            await WriteAsync(local, 400, "Bad Request", null, $"CONNECT needs host:port: {problem}", ct);
            throw new LocalRequestException($"HTTP CONNECT to {parts[1]}: {problem}");
        }

        return new LocalRequest(authority.ToString(), profile.ResolveDestination(authority.Host, authority.Port));
    }

    public Task ConfirmAsync(NetworkStream local, CancellationToken ct) =>
        local.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 Connection established\r\n\r\n"), ct).AsTask();

    public Task RefuseAsync(NetworkStream local, string code, string message, CancellationToken ct)
    {
        var (status, reason) = StatusFor(code);
        return WriteAsync(local, status, reason, code, $"{code}: {message}", ct);
    }

    /// <summary>Reads up to the blank line that ends the request head, one byte at a time so nothing after it is consumed.</summary>
    private static async Task<string> ReadHeadAsync(NetworkStream local, CancellationToken ct)
    {
        var head = new List<byte>(256);
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (head.Count == MaxHeadBytes)
            {
                await WriteAsync(local, 431, "Request Header Fields Too Large", null, "request head too large", ct);
                throw new LocalRequestException($"HTTP request head larger than {MaxHeadBytes} bytes");
            }

            head.Add(await LocalBytes.ReadByteAsync(local, ct));
        }

        return Encoding.Latin1.GetString(head.ToArray());
    }

    private static async Task WriteAsync(NetworkStream local, int status, string reason, string? code, string body, CancellationToken ct)
    {
        // A code and message come from the chain's proxies: keep them to one header-safe line.
        code = code is null ? null : new string(code.Where(c => char.IsAsciiLetterOrDigit(c) || c == '-').ToArray());
        var text = new string(body.Select(c => char.IsControl(c) ? ' ' : c).ToArray()) + "\n";
        var header = $"HTTP/1.1 {status} {reason}\r\n" + (code is null ? string.Empty : $"X-Avpn-Error: {code}\r\n") +
            $"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(text)}\r\nConnection: close\r\n\r\n";
        await local.WriteAsync(Encoding.UTF8.GetBytes(header + text), ct);
    }
}
