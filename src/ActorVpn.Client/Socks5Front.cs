using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ActorVpn.Protocol;

namespace ActorVpn.Client;

/// <summary>
/// <c>avpn connect --socks5</c>: RFC 1928 with the "no authentication required" method only and the CONNECT command
/// only. The destination is named either by a destination's name (<c>curl --socks5-hostname</c>) or by the address
/// the topology gives it; each CONNECT becomes one session through the chain (Fig. 5).
/// </summary>
public sealed class Socks5Front : ILocalFront
{
    public static readonly Socks5Front Instance = new();

    private const byte Version = 5;
    private const byte NoAuthentication = 0x00;
    private const byte NoAcceptableMethod = 0xFF;
    private const byte Connect = 0x01;
    private const byte IPv4 = 0x01;
    private const byte DomainName = 0x03;
    private const byte IPv6 = 0x04;

    /// <summary>RFC 1928 section 6 reply codes.</summary>
    public static class Reply
    {
        public const byte Succeeded = 0x00;
        public const byte GeneralFailure = 0x01;
        public const byte NotAllowedByRuleset = 0x02;
        public const byte NetworkUnreachable = 0x03;
        public const byte HostUnreachable = 0x04;
        public const byte ConnectionRefused = 0x05;
        public const byte CommandNotSupported = 0x07;
        public const byte AddressTypeNotSupported = 0x08;
    }

    /// <summary>The SOCKS reply that says what a contract error code means to the application.</summary>
    public static byte ReplyFor(string code) => code switch
    {
        // The chain refused this user: it is not allowed to reach the destination.
        ErrorCodes.UnknownUser or ErrorCodes.UntrustedPeer or ErrorCodes.CertificateRevoked or ErrorCodes.CertificateExpired => Reply.NotAllowedByRuleset,

        // No auth server knows a way to the destination (or this profile names none).
        ErrorCodes.UnknownDestination or ErrorCodes.NoRoute or ErrorCodes.RouteLoop => Reply.HostUnreachable,

        // A proxy or auth server on the way did not answer in time or at all.
        ErrorCodes.Unreachable or ErrorCodes.Timeout => Reply.NetworkUnreachable,
        _ => Reply.GeneralFailure,
    };

    public async Task<LocalRequest> NegotiateAsync(NetworkStream local, ClientProfile profile, CancellationToken ct)
    {
        // Method selection: VER NMETHODS METHODS...
        var head = new byte[2];
        await LocalBytes.ReadExactlyAsync(local, head, ct);
        if (head[0] != Version)
        {
            throw new LocalRequestException($"not a SOCKS5 client (version byte {head[0]})");
        }

        var methods = new byte[head[1]];
        await LocalBytes.ReadExactlyAsync(local, methods, ct);
        if (Array.IndexOf(methods, NoAuthentication) < 0)
        {
            await local.WriteAsync(new byte[] { Version, NoAcceptableMethod }, ct);
            throw new LocalRequestException("the SOCKS5 client offers no method without authentication, the only one supported");
        }

        await local.WriteAsync(new byte[] { Version, NoAuthentication }, ct);

        // Request: VER CMD RSV ATYP DST.ADDR DST.PORT
        var request = new byte[4];
        await LocalBytes.ReadExactlyAsync(local, request, ct);
        if (request[0] != Version)
        {
            throw new LocalRequestException($"SOCKS5 request with version byte {request[0]}");
        }

        string host;
        switch (request[3])
        {
            case IPv4:
            case IPv6:
                var address = new byte[request[3] == IPv4 ? 4 : 16];
                await LocalBytes.ReadExactlyAsync(local, address, ct);
                host = new IPAddress(address).ToString();
                break;
            case DomainName:
                var name = new byte[await LocalBytes.ReadByteAsync(local, ct)];
                await LocalBytes.ReadExactlyAsync(local, name, ct);
                host = Encoding.ASCII.GetString(name);
                break;
            default:
                await WriteReplyAsync(local, Reply.AddressTypeNotSupported, ct);
                throw new LocalRequestException($"SOCKS5 address type {request[3]} is not supported");
        }

        var portBytes = new byte[2];
        await LocalBytes.ReadExactlyAsync(local, portBytes, ct);
        var port = BinaryPrimitives.ReadUInt16BigEndian(portBytes);
        if (request[1] != Connect)
        {
            await WriteReplyAsync(local, Reply.CommandNotSupported, ct);
            throw new LocalRequestException($"SOCKS5 command {request[1]} is not supported (only CONNECT)");
        }

        return new LocalRequest(host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}", profile.ResolveDestination(host, port));
    }

    public Task ConfirmAsync(NetworkStream local, CancellationToken ct) => WriteReplyAsync(local, Reply.Succeeded, ct);

    public Task RefuseAsync(NetworkStream local, string code, string message, CancellationToken ct) => WriteReplyAsync(local, ReplyFor(code), ct);

    private static async Task WriteReplyAsync(NetworkStream local, byte reply, CancellationToken ct) =>
        // VER REP RSV ATYP BND.ADDR BND.PORT: the bound address means nothing through a chain, so 0.0.0.0:0.
        await local.WriteAsync(new byte[] { Version, reply, 0, IPv4, 0, 0, 0, 0, 0, 0 }, ct);
}
