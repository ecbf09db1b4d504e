using Xunit;
using static ActorVpn.Topology.Tests.TopologyText;

namespace ActorVpn.Topology.Tests;

/// <summary>A broken topology is rejected at load, naming the file, the HOCON path and the problem.</summary>
public sealed class ValidationTests
{
    private const string Root = "actorvpn.topology";

    private static void AssertProblem(TopologyException problem, string path, string contains)
    {
        Assert.Equal(Source, problem.File);
        Assert.Equal(path, problem.Path);
        Assert.Contains(contains, problem.Problem, StringComparison.Ordinal);
        Assert.Equal($"{Source}: {path}: {problem.Problem}", problem.Message);
    }

    [Fact]
    public void Route_to_an_unknown_auth_server_is_named()
    {
        var text = Build(authServers: AuthServers.Replace("as1 { routes { server = as2 }", "as1 { routes { server = as9 }", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as1.routes.server", "unknown auth server 'as9'");
    }

    [Fact]
    public void Unknown_parent_is_named()
    {
        var text = Build(authServers: AuthServers.Replace("as2 { parent = as4", "as2 { parent = as7", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as2.parent", "unknown auth server 'as7'");
    }

    [Fact]
    public void Trusting_an_unknown_auth_server_is_named()
    {
        var text = Build(authServers: AuthServers.Replace("trusts = [as1]", "trusts = [as1, ghost]", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as2.trusts", "unknown auth server 'ghost'");
    }

    [Fact]
    public void Proxy_of_an_unknown_auth_server_is_named()
    {
        var text = Build(proxies: Proxies.Replace("proxy3 { auth-server = as3", "proxy3 { auth-server = as5", StringComparison.Ordinal));
        var problems = Problems(text);
        Assert.Contains(problems, p => p.Path == $"{Root}.proxies.proxy3.auth-server" && p.Problem.Contains("unknown auth server 'as5'", StringComparison.Ordinal));
    }

    [Fact]
    public void User_of_an_unknown_auth_server_is_named()
    {
        AssertProblem(Single(Build(users: "users { alice { auth-server = nowhere } }")), $"{Root}.users.alice.auth-server", "unknown auth server 'nowhere'");
    }

    [Fact]
    public void Relay_through_an_unknown_proxy_is_named()
    {
        var text = Build(authServers: AuthServers.Replace("relays { server = proxy2 }", "relays { server = proxy22 }", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as2.relays.server", "unknown proxy 'proxy22'");
    }

    [Fact]
    public void Route_for_an_unknown_destination_is_named()
    {
        var text = Build(authServers: AuthServers.Replace("as4 { routes { server = as3 }", "as4 { routes { server = as3, elsewhere = as3 }", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as4.routes.elsewhere", "unknown destination 'elsewhere'");
    }

    [Fact]
    public void Relay_for_an_unknown_destination_is_named()
    {
        var text = Build(authServers: AuthServers.Replace("relays { server = proxy1 }", "relays { server = proxy1, srv = proxy1 }", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as1.relays.srv", "unknown destination 'srv'");
    }

    [Fact]
    public void Parent_cycle_is_rejected_with_the_cycle_spelled_out()
    {
        var text = Build(authServers: AuthServers.Replace("as4 { routes", "as4 { parent = as2, routes", StringComparison.Ordinal));
        var problems = Problems(text);
        Assert.NotEmpty(problems);
        Assert.All(problems, p => Assert.Contains("parent cycle", p.Problem, StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == $"{Root}.auth-servers.as2.parent" && p.Problem.Contains("as2 -> as4 -> as2", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == $"{Root}.auth-servers.as4.parent" && p.Problem.Contains("as4 -> as2 -> as4", StringComparison.Ordinal));
    }

    [Fact]
    public void Auth_server_that_is_its_own_parent_is_a_cycle()
    {
        var text = Build(authServers: AuthServers.Replace("as4 { routes", "as4 { parent = as4, routes", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as4.parent", "parent cycle");
    }

    [Fact]
    public void Duplicate_listen_address_names_both_proxies()
    {
        var text = Build(proxies: Proxies.Replace("127.0.0.1:7103", "127.0.0.1:7102", StringComparison.Ordinal));
        var problem = Single(text);
        Assert.Equal($"{Root}.proxies.proxy3.listen", problem.Path);
        Assert.Contains("duplicate listen address 127.0.0.1:7102", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("proxy2", problem.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void End_without_a_relay_proxy_for_that_destination_is_rejected()
    {
        // AS4 manages no relay proxy (Fig. 3), so it cannot be the server whose proxy reaches the destination.
        var text = Build(authServers: AuthServers.Replace("as4 { routes { server = as3 }", "as4 { routes { server = end }", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as4.routes.server", "'end' needs a relay proxy for 'server'");
    }

    [Fact]
    public void Relay_proxy_owned_by_another_auth_server_is_rejected()
    {
        var text = Build(authServers: AuthServers.Replace("relays { server = proxy2 }", "relays { server = proxy3 }", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as2.relays.server", "proxy 'proxy3' belongs to auth server 'as3', not to 'as2'");
    }

    [Theory]
    [InlineData("127.0.0.1", "not of the form host:port")]
    [InlineData("127.0.0.1:0", "no valid port")]
    [InlineData("127.0.0.1:70000", "no valid port")]
    [InlineData("127.0.0.1:http", "no valid port")]
    [InlineData(":7101", "not of the form host:port")]
    public void Bad_listen_address_is_rejected(string listen, string problem)
    {
        var text = Build(proxies: Proxies.Replace("127.0.0.1:7101", listen, StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.proxies.proxy1.listen", problem);
    }

    [Fact]
    public void Bad_destination_address_is_rejected()
    {
        AssertProblem(Single(Build(destinations: """destinations { server = "localhost" }""")), $"{Root}.destinations.server", "host:port");
    }

    [Fact]
    public void Misspelt_key_is_named_with_the_keys_that_are_allowed()
    {
        var text = Build(authServers: AuthServers.Replace("as2 { parent = as4", "as2 { parnet = as4", StringComparison.Ordinal));
        var problem = Single(text);
        Assert.Equal($"{Root}.auth-servers.as2.parnet", problem.Path);
        Assert.Contains("unknown setting", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("parent", problem.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Misspelt_proxy_key_and_section_are_named()
    {
        var text = Build(
            proxies: Proxies.Replace("proxy1 { auth-server = as1, listen", "proxy1 { auth-server = as1, lisen", StringComparison.Ordinal),
            users: Users + "\n  userz { }");
        var problems = Problems(text);
        Assert.Contains(problems, p => p.Path == $"{Root}.proxies.proxy1.lisen" && p.Problem.Contains("unknown setting", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == $"{Root}.proxies.proxy1.listen" && p.Problem.Contains("missing", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == $"{Root}.userz" && p.Problem.Contains("unknown section", StringComparison.Ordinal));
    }

    [Fact]
    public void Hocon_syntax_error_gives_line_and_column_without_a_stack_trace()
    {
        var text = Build(authServers: AuthServers.Replace("as4 { routes { server = as3 }, trusts = [as2] }", "as4 { trusts = [as2],, routes { server = as3 } }", StringComparison.Ordinal));
        var problem = Single(text);
        Assert.Equal("(syntax)", problem.Path);
        Assert.Contains("not valid HOCON", problem.Problem, StringComparison.Ordinal);
        var line = text.Split('\n').ToList().FindIndex(l => l.Contains(",,", StringComparison.Ordinal)) + 1;
        Assert.Contains($"line {line}, column ", problem.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", problem.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(" at Akka.", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_left_open_is_a_syntax_error_not_a_hang()
    {
        // Akka's HOCON parser alone never returns on this input.
        var text = Build(authServers: AuthServers.Replace("trusts = [as1] }", "trusts = [as1 }", StringComparison.Ordinal));
        var line = text.Split('\n').ToList().FindIndex(l => l.Contains("[as1 }", StringComparison.Ordinal)) + 1;
        var problem = await Task.Run(() => Single(text)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("(syntax)", problem.Path);
        Assert.Contains($"'}}' at line {line}", problem.Problem, StringComparison.Ordinal);
        Assert.Contains($"'[' opened at line {line}", problem.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("actorvpn.topology {\n  destinations { server = \"127.0.0.1:9000\" }\n", "'{' opened at line 1, column 19 is never closed")]
    [InlineData("actorvpn.topology { }\n}\n", "'}' at line 2, column 1 closes nothing")]
    public void Unbalanced_braces_are_syntax_errors(string text, string expected)
    {
        var problem = Single(text);
        Assert.Equal("(syntax)", problem.Path);
        Assert.Contains(expected, problem.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Brackets_inside_strings_and_comments_do_not_count()
    {
        var text = Build(destinations: "destinations { server = \"127.0.0.1:9000\" } # a comment with [ and {\n  // and } here");
        Assert.NotNull(TopologyLoader.LoadText(text, Source));
        Assert.Null(TopologyLoader.UnbalancedBracket("a = \"[{\", b = \"\"\"]}\"\"\"\n# ]\n"));
    }

    [Fact]
    public void Empty_trusts_list_means_trusting_nobody()
    {
        var text = Build(authServers: AuthServers.Replace("as1 { routes", "as1 { trusts = [], routes", StringComparison.Ordinal));
        Assert.Empty(TopologyLoader.LoadText(text, Source).AuthServer("as1").Trusts);
    }

    [Fact]
    public void Trusts_that_is_not_a_list_is_rejected()
    {
        var text = Build(authServers: AuthServers.Replace("trusts = [as1]", "trusts = as1", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as2.trusts", "must be a list");
    }

    [Fact]
    public void File_without_a_topology_object_is_rejected()
    {
        AssertProblem(Single("akka.loglevel = INFO"), Root, "missing");
    }

    [Fact]
    public void Missing_file_is_named_without_a_stack_trace()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-topology-{Guid.NewGuid():N}.hocon");
        var error = Assert.Throws<TopologyException>(() => TopologyLoader.LoadFile(path));
        Assert.Equal(path, error.File);
        Assert.Contains("cannot read the topology file", error.Problem, StringComparison.Ordinal);
        Assert.StartsWith(path + ": ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_file_on_disk_is_named_by_its_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"topology-{Guid.NewGuid():N}.hocon");
        File.WriteAllText(path, Build(users: "users { alice { auth-server = as0 } }"));
        try
        {
            var error = Assert.Throws<TopologyException>(() => TopologyLoader.LoadFile(path));
            Assert.Equal(path, error.File);
            Assert.Equal($"{path}: {Root}.users.alice.auth-server: unknown auth server 'as0'", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Several_problems_are_reported_at_once()
    {
        var servers = AuthServers
            .Replace("as1 { routes { server = as2 }", "as1 { routes { server = as9 }", StringComparison.Ordinal)
            .Replace("as2 { parent = as4", "as2 { parent = as8", StringComparison.Ordinal);
        var proxies = Proxies.Replace("127.0.0.1:7103", "127.0.0.1:7102", StringComparison.Ordinal);
        var error = Assert.Throws<TopologyException>(() => TopologyLoader.LoadText(Build(authServers: servers, proxies: proxies), Source));
        var paths = error.Problems.Select(p => p.Path).ToList();
        Assert.Contains($"{Root}.auth-servers.as1.routes.server", paths);
        Assert.Contains($"{Root}.auth-servers.as2.parent", paths);
        Assert.Contains($"{Root}.proxies.proxy3.listen", paths);
        Assert.Equal(error.Problems.Count, error.Message.Split(Environment.NewLine).Length);
    }

    [Fact]
    public void Invalid_names_are_rejected()
    {
        var text = Build(users: "users { \"bad name\" { auth-server = as1 } }");
        AssertProblem(Single(text), $"{Root}.users.bad name", "not a valid name");
    }

    [Fact]
    public void Route_to_itself_is_rejected()
    {
        var text = Build(authServers: AuthServers.Replace("as4 { routes { server = as3 }", "as4 { routes { server = as4 }", StringComparison.Ordinal));
        AssertProblem(Single(text), $"{Root}.auth-servers.as4.routes.server", "cannot route to itself");
    }
}
