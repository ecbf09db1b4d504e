using System.Text.Json;
using ActorVpn.Testing;
using Xunit;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>The built <c>avpn</c> as a user runs it: a child process, its exit code, stdout and stderr.</summary>
public sealed class CliTests
{
    private sealed record Run(int ExitCode, string Stdout, string Stderr);

    private static async Task<Run> AvpnAsync(params string[] args)
    {
        var run = await AvpnProcess.RunAsync(args, TimeSpan.FromSeconds(60));
        return new Run(run.ExitCode, run.Stdout, run.Stderr);
    }

    private static string TempTopology(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"avpn-test-{Guid.NewGuid():N}.hocon");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Route_trace_json_on_the_example_prints_the_contract_fields_and_exits_0()
    {
        var run = await AvpnAsync("route", "trace", "--user", "alice", "--to", "server", "--json");

        Assert.Equal(0, run.ExitCode);
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.Equal(["ok", "user", "destination", "route", "handoff", "holders", "steps"], root.EnumerateObject().Select(p => p.Name));
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal("alice", root.GetProperty("user").GetString());
        Assert.Equal("server", root.GetProperty("destination").GetString());
        Assert.Equal(["proxy1", "proxy2", "proxy3"], root.GetProperty("route").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["as1", "as2", "as4", "as3"], root.GetProperty("handoff").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["as2", "as3"], root.GetProperty("holders").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Failing_route_trace_exits_non_zero_with_the_failure_json()
    {
        var topology = TempTopology("""
            actorvpn.topology {
              destinations { server = "127.0.0.1:9000" }
              auth-servers {
                as1 { routes { server = as2 }, relays { server = proxy1 } }
                as2 { relays { server = proxy2 }, trusts = [as1] }
              }
              proxies {
                proxy1 { auth-server = as1, listen = "127.0.0.1:7101" }
                proxy2 { auth-server = as2, listen = "127.0.0.1:7102" }
              }
              users { alice { auth-server = as1 } }
            }
            """);
        try
        {
            var run = await AvpnAsync("route", "trace", "--topology", topology, "--user", "alice", "--to", "server", "--json");

            Assert.NotEqual(0, run.ExitCode);
            using var json = JsonDocument.Parse(run.Stdout);
            var root = json.RootElement;
            Assert.False(root.GetProperty("ok").GetBoolean());
            Assert.Equal("alice", root.GetProperty("user").GetString());
            Assert.Equal("server", root.GetProperty("destination").GetString());
            Assert.Equal(["as1", "as2"], root.GetProperty("handoff").EnumerateArray().Select(e => e.GetString()));
            var error = root.GetProperty("error");
            Assert.Equal("no-route", error.GetProperty("code").GetString());
            Assert.Equal("as2", error.GetProperty("at").GetString());
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
            Assert.False(root.TryGetProperty("route", out _));
        }
        finally
        {
            File.Delete(topology);
        }
    }

    [Fact]
    public async Task Broken_topology_file_prints_one_line_naming_file_and_path_and_exits_2()
    {
        var topology = TempTopology("""
            actorvpn.topology {
              destinations { server = "127.0.0.1:9000" }
              auth-servers {
                as1 { routes { server = as9 }, relays { server = proxy1 } }
              }
              proxies { proxy1 { auth-server = as1, listen = "127.0.0.1:7101" } }
              users { alice { auth-server = as1 } }
            }
            """);
        try
        {
            var run = await AvpnAsync("route", "trace", "--topology", topology, "--user", "alice", "--to", "server", "--json");

            Assert.Equal(2, run.ExitCode);
            var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(topology, line, StringComparison.Ordinal);
            Assert.Contains("actorvpn.topology.auth-servers.as1.routes.server", line, StringComparison.Ordinal);
            Assert.Contains("unknown auth server 'as9'", line, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", run.Stderr, StringComparison.Ordinal);
            Assert.Equal(string.Empty, run.Stdout.Trim());
        }
        finally
        {
            File.Delete(topology);
        }
    }

    [Fact]
    public async Task Missing_topology_file_and_hocon_syntax_error_exit_2_without_a_stack_trace()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"avpn-missing-{Guid.NewGuid():N}.hocon");
        var broken = TempTopology("actorvpn.topology {\n  destinations { server = \"127.0.0.1:9000\" }\n  auth-servers { as1 { trusts = [as2 } }\n}\n");
        try
        {
            foreach (var (file, expected) in new[] { (missing, "cannot read"), (broken, "line 3") })
            {
                var run = await AvpnAsync("route", "trace", "--topology", file, "--user", "alice", "--to", "server");
                Assert.Equal(2, run.ExitCode);
                var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                Assert.Contains(file, line, StringComparison.Ordinal);
                Assert.Contains(expected, line, StringComparison.Ordinal);
                Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(broken);
        }
    }
}
