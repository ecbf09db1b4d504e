using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ActorVpn.Client;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Xunit;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.DataPlane.Tests;

/// <summary>
/// <c>avpn connect --socks5</c> and <c>--http-proxy</c> spoken by hand-written protocol clients: each CONNECT names a
/// destination of the profile (by name or by its topology address) and becomes one session through the chain; a
/// refusal comes back as the matching SOCKS reply or HTTP status.
/// </summary>
public sealed class LocalProxyTests
{
    private static async Task<(Socket Socket, NetworkStream Stream)> OpenAsync(ChainFixture chain, ILocalFront front, ClientProfile? profile = null)
    {
        var address = HostPort.Parse(await VpnNode.StartClientAsync(chain.Node.System, profile ?? chain.Profile, front,
            new IPEndPoint(IPAddress.Loopback, 0), chain.Node.DataPlane));
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = new CancellationTokenSource(ChainFixture.Deadline);
        await socket.ConnectAsync(address.Host, address.Port, deadline.Token);
        return (socket, new NetworkStream(socket, ownsSocket: true));
    }

    /// <summary>RFC 1928: no-auth greeting, then CONNECT to a name (ATYP 3) or an IPv4 address (ATYP 1); returns the reply code.</summary>
    private static async Task<byte> Socks5ConnectAsync(NetworkStream stream, string host, int port)
    {
        using var deadline = new CancellationTokenSource(ChainFixture.Deadline);
        await stream.WriteAsync(new byte[] { 5, 1, 0 }, deadline.Token);
        var method = new byte[2];
        await stream.ReadExactlyAsync(method, deadline.Token);
        Assert.Equal(new byte[] { 5, 0 }, method);

        var request = new List<byte> { 5, 1, 0 };
        if (IPAddress.TryParse(host, out var ip))
        {
            // As an application writes it: an IPv4 address as ATYP 1 even where the destination's socket reports it IPv4-mapped.
            ip = ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
            request.Add(ip.AddressFamily == AddressFamily.InterNetwork ? (byte)1 : (byte)4);
            request.AddRange(ip.GetAddressBytes());
        }
        else
        {
            request.Add(3);
            request.Add((byte)host.Length);
            request.AddRange(Encoding.ASCII.GetBytes(host));
        }

        var portBytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(portBytes, (ushort)port);
        request.AddRange(portBytes);
        await stream.WriteAsync(request.ToArray(), deadline.Token);

        var reply = new byte[10];
        await stream.ReadExactlyAsync(reply, deadline.Token);
        Assert.Equal(5, reply[0]);
        return reply[1];
    }

    private static async Task<string> HttpConnectAsync(NetworkStream stream, string authority)
    {
        using var deadline = new CancellationTokenSource(ChainFixture.Deadline);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n"), deadline.Token);
        var head = new List<byte>();
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            var one = new byte[1];
            await stream.ReadExactlyAsync(one, deadline.Token);
            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString(head.ToArray());
    }

    [Fact]
    public async Task Socks5_connect_by_destination_name_and_by_topology_address_carries_bytes_through_the_chain()
    {
        await using var chain = await ChainFixture.StartAsync(3);

        var (byName, byNameStream) = await OpenAsync(chain, Socks5Front.Instance);
        using (byName)
        {
            Assert.Equal(Socks5Front.Reply.Succeeded, await Socks5ConnectAsync(byNameStream, ChainFixture.Destination, 80));
            await Traffic.EchoAndVerifyAsync(byNameStream, new byte[64 * 1024].Select((_, i) => (byte)i).ToArray(), () => byName.Shutdown(SocketShutdown.Send));
        }

        var (byAddress, byAddressStream) = await OpenAsync(chain, Socks5Front.Instance);
        using (byAddress)
        {
            Assert.Equal(Socks5Front.Reply.Succeeded, await Socks5ConnectAsync(byAddressStream, chain.Echo.Address.Host, chain.Echo.Address.Port));
            await Traffic.EchoAndVerifyAsync(byAddressStream, Encoding.ASCII.GetBytes("through the chain by address"), () => byAddress.Shutdown(SocketShutdown.Send));
        }

        Assert.Equal(2, chain.Echo.Connections);
    }

    [Fact]
    public async Task Socks5_connect_to_an_unknown_destination_is_host_unreachable_and_never_leaves_the_machine()
    {
        await using var chain = await ChainFixture.StartAsync(2);
        // Every entry proxy of this profile is a trap: a request that left the machine would connect to it.
        using var trap = new Socket(SocketType.Stream, ProtocolType.Tcp);
        trap.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        trap.Listen(16);
        var trapped = chain.Profile with
        {
            Entries = chain.Profile.Entries.ToDictionary(e => e.Key, e => e.Value with { Address = trap.LocalEndPoint!.ToString()! }),
        };

        var (socket, stream) = await OpenAsync(chain, Socks5Front.Instance, trapped);
        using (socket)
        {
            Assert.Equal(Socks5Front.Reply.HostUnreachable, await Socks5ConnectAsync(stream, "example.com", 80));
            await Traffic.AssertClosedByPeerAsync(socket);
        }

        Assert.False(trap.Poll(0, SelectMode.SelectRead), "the client connected to an entry proxy for a destination its profile does not have");
    }

    [Fact]
    public async Task A_refused_hand_off_answers_socks5_not_allowed_and_http_403_with_the_contract_code()
    {
        await using var chain = await ChainFixture.StartAsync(2);
        var closed = chain.Kit.CreateTestProbe();
        chain.Node.System.EventStream.Subscribe(closed.Ref, typeof(ClientProtocol.SessionClosed));
        Assert.IsType<UserRevokedAck>(await chain.Node.Control.AskAsync<object>(ChainFixture.Home, new RevokeUser(ChainFixture.User)));

        var (socks, socksStream) = await OpenAsync(chain, Socks5Front.Instance);
        using (socks)
        {
            Assert.Equal(Socks5Front.Reply.NotAllowedByRuleset, await Socks5ConnectAsync(socksStream, ChainFixture.Destination, 80));
            await Traffic.AssertClosedByPeerAsync(socks);
        }

        // The session's end carries the contract error code, as its log line does.
        var ended = await closed.ExpectMsgAsync<ClientProtocol.SessionClosed>(ChainFixture.Deadline);
        Assert.StartsWith("certificate-revoked", ended.Failure, StringComparison.Ordinal);

        var (http, httpStream) = await OpenAsync(chain, HttpConnectFront.Instance);
        using (http)
        {
            var head = await HttpConnectAsync(httpStream, $"{ChainFixture.Destination}:80");
            Assert.StartsWith("HTTP/1.1 403 ", head, StringComparison.Ordinal);
            Assert.Contains("X-Avpn-Error: certificate-revoked\r\n", head, StringComparison.Ordinal);
        }

        Assert.Equal(0, chain.Echo.Connections);
    }

    [Fact]
    public async Task Http_connect_to_a_destination_name_carries_bytes_and_an_unknown_one_gets_502()
    {
        await using var chain = await ChainFixture.StartAsync(2);

        var (socket, stream) = await OpenAsync(chain, HttpConnectFront.Instance);
        using (socket)
        {
            Assert.StartsWith("HTTP/1.1 200 ", await HttpConnectAsync(stream, $"{ChainFixture.Destination}:443"), StringComparison.Ordinal);
            await Traffic.EchoAndVerifyAsync(stream, Encoding.ASCII.GetBytes("bytes after the 200 belong to the destination"), () => socket.Shutdown(SocketShutdown.Send));
        }

        var (unknown, unknownStream) = await OpenAsync(chain, HttpConnectFront.Instance);
        using (unknown)
        {
            var head = await HttpConnectAsync(unknownStream, "example.com:443");
            Assert.StartsWith("HTTP/1.1 502 ", head, StringComparison.Ordinal);
            Assert.Contains("X-Avpn-Error: unknown-destination\r\n", head, StringComparison.Ordinal);
        }

        Assert.Equal(1, chain.Echo.Connections);
    }
}
