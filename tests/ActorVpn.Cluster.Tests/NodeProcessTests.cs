using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ActorVpn.OperatorConsole;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Testing;
using Xunit;

namespace ActorVpn.Cluster.Tests;

/// <summary>
/// The built <c>avpn node</c> as an operator runs it: a child process with a single-node cluster
/// configuration and its operator console, inspected through the console's own client library, then
/// stopped with SIGTERM as Kubernetes stops a pod.
/// </summary>
public sealed class NodeProcessTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(90); // 2-core CI runs every test project at once

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"avpn-node-{Guid.NewGuid():N}");

    public NodeProcessTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Avpn_node_serves_its_console_lists_itself_up_and_leaves_cleanly_on_sigterm()
    {
        var remotePort = FreePorts.Take();
        var consolePort = FreePorts.Take();
        var self = $"akka.tcp://actorvpn@127.0.0.1:{remotePort}";
        var config = Path.Combine(_dir, "node.hocon");
        await File.WriteAllTextAsync(config, $$"""
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{remotePort}} }
            akka.cluster.seed-nodes = ["{{self}}"]
            actorvpn.node { groups = [as1, as4], proxies = [], health.port = 0, drain-period = 1s }
            """);
        var data = Path.Combine(_dir, "data");

        using var node = AvpnProcess.Start("node", "--config", config, "--data", data, "--console", $"127.0.0.1:{consolePort}");
        try
        {
            // "ready" once it is an Up member; the console (and admin.avpn) is up before that.
            await node.AwaitLineAsync("ready", Generous);
            var admin = Path.Combine(data, "admin.avpn");
            Assert.True(File.Exists(admin), $"no {admin}; stdout:\n{node.Stdout}");
            var credential = OperatorCredential.Load(admin);
            Assert.Equal($"127.0.0.1:{consolePort}", credential.Endpoint);

            await using (var client = await ConsoleClient.ConnectAsync(credential, Generous))
            {
                var reply = await client.RunAsync(["cluster", "show", "--json"]);
                Assert.True(reply.Exit == ConsoleReply.Ok, reply.Error);
                var json = JsonDocument.Parse(reply.Output).RootElement;
                Assert.True(json.GetProperty("cluster").GetBoolean());
                var member = Assert.Single(json.GetProperty("members").EnumerateArray());
                Assert.Equal(self, member.GetProperty("address").GetString());
                Assert.Equal("up", member.GetProperty("status").GetString());
                Assert.True(member.GetProperty("self").GetBoolean());
                Assert.True(member.GetProperty("leader").GetBoolean());
            }

            // SIGTERM: coordinated shutdown (drain, leave the cluster), then exit 0.
            node.Terminate();
            Assert.Equal(0, await node.WaitForExitAsync(Generous));
            Assert.Contains("leaving the cluster", node.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("avpn:", node.Stderr, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\nstdout:\n{node.Stdout}\nstderr:\n{node.Stderr}", e);
        }
    }
}
