using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ActorVpn.Credentials;
using ActorVpn.Topology;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>
/// Bad frames from an operator who did authenticate: one clear refusal, the connection closed, and
/// the node (its console, its sessions) carries on.
/// </summary>
public sealed class ProtocolTests
{
    public static TheoryData<string, byte[], string> BadFrames() => new()
    {
        { "oversized", Header(ConsoleFrames.Version, 64 * 1024 * 1024), "over the limit of 16384" },
        { "not JSON", Frame(ConsoleFrames.Version, "this is no console request"u8.ToArray()), "a malformed frame" },
        { "another version", Frame(9, """{"args":["user","list"]}"""u8.ToArray()), "console frame version 9" },
        { "too many words", Frame(ConsoleFrames.Version, Encoding.UTF8.GetBytes("{\"args\":[" + string.Join(',', Enumerable.Repeat("\"x\"", 100)) + "]}")), "0 to 64 words" },
    };

    [Theory]
    [MemberData(nameof(BadFrames))]
    public async Task A_bad_frame_gets_a_clear_refusal_and_the_node_stays_fine(string what, byte[] bytes, string reason)
    {
        await using var system = await ConsoleFixture.StartAsync();
        await using var tls = await OpenAsync(system);
        using var deadline = new CancellationTokenSource(ConsoleFixture.Deadline);
        await tls.WriteAsync(bytes, deadline.Token);
        await tls.FlushAsync(deadline.Token);

        var refusal = await ConsoleFrames.ReadReplyAsync(tls, deadline.Token);
        Assert.Equal(ConsoleReply.Failed, refusal.Exit);
        Assert.Contains(reason, refusal.Error, StringComparison.Ordinal);
        Assert.StartsWith("refused: ", refusal.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refusal.Error, StringComparison.Ordinal);

        // Then the node closes this connection ...
        var rest = new byte[16];
        int n;
        try
        {
            n = await tls.ReadAsync(rest, deadline.Token);
        }
        catch (IOException)
        {
            n = 0;
        }

        Assert.True(n == 0, $"{what}: the connection stayed open after the refusal");

        // ... and serves everyone else as before.
        Assert.Equal(ConsoleReply.Ok, (await system.RunAsync("proxy", "list")).Exit);
        using var socket = await system.OpenLocalAsync(system.Alice);
        await Traffic.EchoAsync(socket);
    }

    [Fact]
    public async Task A_stop_that_crossed_the_end_of_a_stream_gets_no_reply_and_the_next_command_its_own()
    {
        await using var system = await ConsoleFixture.StartAsync();
        await using var tls = await OpenAsync(system);
        using var deadline = new CancellationTokenSource(ConsoleFixture.Deadline);
        await ConsoleFrames.WriteRequestAsync(tls, new ConsoleRequest(ConsoleReply.StopWords), deadline.Token);
        await ConsoleFrames.WriteRequestAsync(tls, new ConsoleRequest(["user", "list"]), deadline.Token);

        var reply = await ConsoleFrames.ReadReplyAsync(tls, deadline.Token);
        Assert.Equal(ConsoleReply.Ok, reply.Exit);
        Assert.Contains("alice", reply.Output, StringComparison.Ordinal);
    }

    private static byte[] Header(byte version, uint length)
    {
        var header = new byte[ConsoleFrames.HeaderSize];
        header[0] = version;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), length);
        return header;
    }

    private static byte[] Frame(byte version, byte[] payload) => [.. Header(version, (uint)payload.Length), .. payload];

    /// <summary>A TLS connection with the operator certificate, as <see cref="Client.ConsoleClient"/> opens it, to write raw bytes on.</summary>
    private static async Task<SslStream> OpenAsync(ConsoleFixture system)
    {
        var credential = system.Console.Credential;
        var endpoint = HostPort.Parse(credential.Endpoint);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var deadline = new CancellationTokenSource(ConsoleFixture.Deadline);
        await socket.ConnectAsync(endpoint.Host, endpoint.Port, deadline.Token);
        var certificate = credential.CertificateWithKey();
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        await tls.AuthenticateAsClientAsync(Client.ConsoleClient.TlsOptions(credential, certificate), deadline.Token);
        return tls;
    }
}
