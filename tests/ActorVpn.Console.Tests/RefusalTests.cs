using System.Net.Sockets;
using ActorVpn.Credentials;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Topology;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>Only an operator credential of this console opens it; anything else gets nothing, and the node carries on.</summary>
public sealed class RefusalTests
{
    [Fact]
    public async Task A_client_without_a_certificate_gets_nothing()
    {
        await using var system = await ConsoleFixture.StartAsync();
        var endpoint = HostPort.Parse(system.Console.Address);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var deadline = new CancellationTokenSource(ConsoleFixture.Deadline);
        await socket.ConnectAsync(endpoint.Host, endpoint.Port, deadline.Token);
        await using (var stream = new NetworkStream(socket, ownsSocket: false))
        {
            // A console request in plain text, as if TLS did not exist.
            await ConsoleFrames.WriteRequestAsync(stream, new ConsoleRequest(["user", "list"]), deadline.Token);
        }

        var received = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
            {
                received.AddRange(buffer.AsSpan(0, n).ToArray());
            }
        }
        catch (SocketException)
        {
        }

        // Nothing but (at most) a TLS alert or handshake record: never a console reply.
        Assert.True(received.Count == 0 || received[0] is 0x15 or 0x16, $"the node answered a client without a certificate ({received.Count} bytes)");
        await AssertStillServesAsync(system);
    }

    [Fact]
    public async Task A_certificate_of_another_console_authority_is_refused()
    {
        await using var system = await ConsoleFixture.StartAsync();
        using var stranger = ConsoleAuthority.Create(DateTimeOffset.UtcNow);
        var forged = stranger.IssueOperator("mallory", system.Console.Address, DateTimeOffset.UtcNow) with { ServerPin = system.Console.Credential.ServerPin };

        await Assert.ThrowsAsync<IOException>(async () =>
        {
            await using var client = await ConsoleClient.ConnectAsync(forged, ConsoleFixture.Deadline);
            await client.RunAsync(["user", "list"]);
        });
        await AssertStillServesAsync(system);
    }

    [Fact]
    public async Task A_user_certificate_does_not_open_the_console()
    {
        await using var system = await ConsoleFixture.StartAsync();
        var asUser = system.Console.Credential with { CertificatePem = system.Alice.CertificatePem, PrivateKeyPem = system.Alice.PrivateKeyPem };

        await Assert.ThrowsAsync<IOException>(async () =>
        {
            await using var client = await ConsoleClient.ConnectAsync(asUser, ConsoleFixture.Deadline);
            await client.RunAsync(["user", "list"]);
        });
        await AssertStillServesAsync(system);
    }

    [Fact]
    public async Task A_client_refuses_a_node_whose_console_identity_is_not_the_pinned_one()
    {
        await using var system = await ConsoleFixture.StartAsync();
        var wrongPin = system.Console.Credential with { ServerPin = Convert.ToBase64String(new byte[32]) };
        await Assert.ThrowsAsync<IOException>(() => ConsoleClient.ConnectAsync(wrongPin, ConsoleFixture.Deadline));
    }

    [Fact]
    public async Task A_dropped_console_connection_leaves_the_node_and_other_operators_unaffected()
    {
        await using var system = await ConsoleFixture.StartAsync();
        await using var other = await system.ConnectAsync();
        var dropped = await system.ConnectAsync();
        Assert.Equal(ConsoleReply.Ok, (await dropped.RunAsync(["proxy", "list"])).Exit);
        await dropped.DisposeAsync();

        Assert.Equal(ConsoleReply.Ok, (await other.RunAsync(["auth", "list"])).Exit);
        await AssertStillServesAsync(system);
    }

    [Fact]
    public void An_operator_credential_file_round_trips_and_a_profile_is_not_one()
    {
        using var authority = ConsoleAuthority.Create(DateTimeOffset.UtcNow);
        var path = Path.Combine(Path.GetTempPath(), $"admin-{Guid.NewGuid():N}.avpn");
        try
        {
            var credential = authority.IssueOperator("operator", "127.0.0.1:9110", DateTimeOffset.UtcNow);
            credential.Save(path);
            Assert.Equal(credential, OperatorCredential.Load(path));
            File.WriteAllText(path, """{"version":1,"profile":{}}""");
            Assert.Throws<CredentialException>(() => OperatorCredential.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task AssertStillServesAsync(ConsoleFixture system)
    {
        Assert.Equal(ConsoleReply.Ok, (await system.RunAsync("user", "list")).Exit);
        using var socket = await system.OpenLocalAsync(system.Alice);
        await Traffic.EchoAsync(socket);
    }
}
