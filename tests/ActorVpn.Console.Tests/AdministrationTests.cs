using System.Text.Json;
using ActorVpn.Client;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Testing;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>Sessions and users through the console, against live client connections.</summary>
public sealed class AdministrationTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Session_kill_closes_the_clients_connection_and_the_whole_chain()
    {
        await using var system = await ConsoleFixture.StartAsync();
        using var socket = await system.OpenLocalAsync(system.Alice);
        await Traffic.EchoAsync(socket);

        var session = Assert.Single(JsonDocument.Parse((await system.RunAsync("session", "list", "--json")).Output).RootElement.EnumerateArray());
        Assert.Equal("alice", session.GetProperty("user").GetString());
        Assert.Equal(["proxy1", "proxy2", "proxy3"], session.GetProperty("route").EnumerateArray().Select(e => e.GetString()));
        var id = session.GetProperty("id").GetString()!;
        Assert.Contains(id, (await system.RunAsync("session", "show", id)).Output, StringComparison.Ordinal);

        var kill = await system.RunAsync("session", "kill", id);
        Assert.Equal(ConsoleReply.Ok, kill.Exit);

        await Traffic.AssertClosedByPeerAsync(socket);
        await system.Kit.AwaitAssertAsync(async () =>
            Assert.Equal("[]", (await system.RunAsync("session", "list", "--json")).Output.Trim()), ConsoleFixture.Deadline, TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task User_revoke_cuts_the_live_session_and_refuses_new_ones()
    {
        await using var system = await ConsoleFixture.StartAsync();
        using var socket = await system.OpenLocalAsync(system.Alice);
        await Traffic.EchoAsync(socket);

        var revoke = JsonDocument.Parse((await system.RunAsync("user", "revoke", "alice", "--json")).Output).RootElement;
        Assert.Equal("as1", revoke.GetProperty("authServer").GetString());
        Assert.Single(revoke.GetProperty("closedSessions").EnumerateArray());

        await Traffic.AssertClosedByPeerAsync(socket);
        using var again = await LocalConnections.OpenRefusedAsync(() => system.OpenLocalAsync(system.Alice));
        await Traffic.AssertClosedByPeerAsync(again); // refused at the entry proxy (step 702: revoked)

        var trace = JsonDocument.Parse((await system.RunAsync("route", "trace", "alice", "server", "--json")).Output).RootElement;
        Assert.False(trace.GetProperty("ok").GetBoolean());
        Assert.Equal("certificate-revoked", trace.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("revoked", (await system.RunAsync("user", "list")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_add_registers_at_the_home_server_only_and_its_profile_connects()
    {
        await using var system = await ConsoleFixture.StartAsync();
        var reply = await system.RunAsync("user", "add", "bob", "--auth-server", "as1");
        Assert.Equal(ConsoleReply.Ok, reply.Exit);
        var profile = JsonSerializer.Deserialize<ClientProfile>(reply.ProfileJson!, Json)!;
        Assert.Equal("bob", profile.User);
        Assert.Equal("proxy1", profile.Entries["server"].Proxy);

        using var socket = await system.OpenLocalAsync(profile);
        await Traffic.EchoAsync(socket);

        var users = JsonDocument.Parse((await system.RunAsync("user", "list", "--json")).Output).RootElement.EnumerateArray()
            .Where(u => u.GetProperty("user").GetString() == "bob").Select(u => u.GetProperty("authServer").GetString()).ToList();
        Assert.Equal(["as1"], users); // 【0012】: registered at its home server and nowhere else
        Assert.True((await system.RunAsync("route", "trace", "bob", "server")).Exit == ConsoleReply.Ok);
    }

    [Fact]
    public async Task User_add_through_the_client_writes_the_profile_to_out()
    {
        await using var system = await ConsoleFixture.StartAsync();
        await using var client = await system.ConnectAsync();
        var path = Path.Combine(Path.GetTempPath(), $"carol-{Guid.NewGuid():N}.avpn");
        try
        {
            var exit = await ConsoleShell.RunOneAsync(client, ["user", "add", "carol", "--auth-server", "as1", "--out", path], TextWriter.Null, TextWriter.Null);
            Assert.Equal(0, exit);
            Assert.Equal("carol", ClientProfile.Load(path).User);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_slow_command_on_one_connection_does_not_block_another()
    {
        await using var system = await ConsoleFixture.StartAsync();
        await using var first = await system.ConnectAsync();
        await using var second = await system.ConnectAsync();
        var trace = first.RunAsync(["route", "trace", "alice", "server"]);
        Assert.Equal(ConsoleReply.Ok, (await second.RunAsync(["cluster", "show"])).Exit);
        Assert.Equal(ConsoleReply.Ok, (await trace).Exit);
    }
}
