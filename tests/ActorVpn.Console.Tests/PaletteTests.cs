using System.Text.Json;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>Every palette command against a running system (one for the class: these commands only read), as text and as <c>--json</c>.</summary>
public sealed class PaletteTests(SharedSystem shared) : IClassFixture<SharedSystem>
{
    public static TheoryData<string> Commands() =>
    [
        "cluster show", "actor hierarchy", "actor hierarchy /user/auth-servers --depth 2", "log peek --level info --lines 5", "auth list", "auth show as2",
        "proxy list", "proxy show proxy1", "session list", "route trace alice server", "user list",
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Each_command_answers_in_text_and_in_json(string command)
    {
        var system = shared.System;
        await using var client = await system.ConnectAsync();
        var words = command.Split(' ');

        var text = await client.RunAsync(words);
        Assert.True(text.Exit == ConsoleReply.Ok, $"{command}: {text.Error}");
        Assert.False(string.IsNullOrWhiteSpace(text.Output));

        var json = await client.RunAsync([.. words, "--json"]);
        Assert.True(json.Exit == ConsoleReply.Ok, $"{command} --json: {json.Error}");
        using var parsed = JsonDocument.Parse(json.Output); // throws unless it is JSON
    }

    [Fact]
    public async Task Actor_hierarchy_shows_the_auth_server_groups_as_parent_and_child_actors()
    {
        var system = shared.System;
        var reply = await system.RunAsync("actor", "hierarchy", "--json");
        var paths = JsonDocument.Parse(reply.Output).RootElement.EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        Assert.Contains("/user/auth-servers/as4/as2", paths);
        Assert.Contains("/user/auth-servers/as4/as3", paths);
        Assert.Contains("/user/auth-servers/as1", paths);
        Assert.Contains("/user/proxies/proxy3", paths);

        var text = (await system.RunAsync("actor", "hierarchy", "/user/auth-servers/as4")).Output;
        Assert.Contains("/user/auth-servers/as4\n  as2\n  as3\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Route_trace_prints_what_avpn_route_trace_prints()
    {
        var system = shared.System;
        var json = JsonDocument.Parse((await system.RunAsync("route", "trace", "alice", "server", "--json")).Output).RootElement;
        Assert.True(json.GetProperty("ok").GetBoolean());
        Assert.Equal(["proxy1", "proxy2", "proxy3"], json.GetProperty("route").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["as1", "as2", "as4", "as3"], json.GetProperty("handoff").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["as2", "as3"], json.GetProperty("holders").EnumerateArray().Select(e => e.GetString()));

        var text = (await system.RunAsync("route", "trace", "alice", "server")).Output;
        Assert.Contains("hand-off path : as1 -> as2 -> as4 -> as3", text, StringComparison.Ordinal);
        Assert.Contains("Fig. 9, step 910", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_show_lists_the_tables_users_and_held_certificates()
    {
        var system = shared.System;
        var text = (await system.RunAsync("auth", "show", "as1")).Output;
        Assert.Contains("upper server : (none", text, StringComparison.Ordinal);
        Assert.Contains("server -> as2", text, StringComparison.Ordinal);
        Assert.Contains("server -> proxy1", text, StringComparison.Ordinal);
        Assert.Contains("alice", text, StringComparison.Ordinal);

        var list = JsonDocument.Parse((await system.RunAsync("auth", "list", "--json")).Output).RootElement;
        var as2 = list.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "as2");
        Assert.Equal("as4", as2.GetProperty("upper").GetString());
        Assert.Equal("/user/auth-servers/as4/as2", as2.GetProperty("path").GetString());
    }

    [Fact]
    public async Task Log_peek_shows_recent_lines_of_the_node_at_or_above_the_level()
    {
        var system = shared.System;
        var lines = JsonDocument.Parse((await system.RunAsync("log", "peek", "--level", "info", "--lines", "500", "--json")).Output).RootElement.EnumerateArray().ToList();
        Assert.Contains(lines, l => l.GetProperty("message").GetString()!.Contains("user alice registered at as1", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.NotEqual("debug", l.GetProperty("level").GetString()));
        Assert.Single(JsonDocument.Parse((await system.RunAsync("log", "peek", "--lines", "1", "--json")).Output).RootElement.EnumerateArray());
    }

    [Fact]
    public async Task Cluster_show_names_the_one_member_and_its_status()
    {
        var system = shared.System;
        var json = JsonDocument.Parse((await system.RunAsync("cluster", "show", "--json")).Output).RootElement;
        var member = Assert.Single(json.GetProperty("members").EnumerateArray());
        Assert.Equal("akka://actorvpn", member.GetProperty("address").GetString());
        Assert.Equal("up", member.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("bogus", "unknown command")]
    [InlineData("auth show", "takes 1 argument")]
    [InlineData("auth list --frobnicate", "unknown option")]
    [InlineData("log peek --level loud", "unknown level")]
    [InlineData("actor hierarchy --depth", "needs a value")]
    [InlineData("user add bob", "--auth-server is required")]
    public async Task Bad_input_gets_a_usage_line_and_no_stack_trace(string command, string problem)
    {
        var system = shared.System;
        var reply = await system.RunAsync(command.Split(' '));
        Assert.Equal(ConsoleReply.Usage, reply.Exit);
        Assert.Contains(problem, reply.Error, StringComparison.Ordinal);
        Assert.Contains("usage: ", reply.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", reply.Error + reply.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_names_are_a_one_line_failure()
    {
        var system = shared.System;
        var reply = await system.RunAsync("proxy", "show", "proxy9");
        Assert.Equal(ConsoleReply.Failed, reply.Exit);
        Assert.StartsWith("no proxy 'proxy9'", reply.Error, StringComparison.Ordinal);
    }
}

/// <summary>One running system shared by the read-only palette tests.</summary>
public sealed class SharedSystem : IAsyncLifetime
{
    private ConsoleFixture? _system;

    internal ConsoleFixture System => _system ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _system = await ConsoleFixture.StartAsync();

    public async Task DisposeAsync()
    {
        if (_system is not null)
        {
            await _system.DisposeAsync();
        }
    }
}
