using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using ActorVpn.Client;
using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Topology;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.Persistence.Tests;

/// <summary>
/// A whole node on a durable store, as <c>avpn up --data DIR [--store postgres]</c> runs it: every
/// auth server and proxy of the patent's example (proxies on port 0), an echo destination, and the
/// operator console, reached over its mutual TLS by named operators.
/// </summary>
public sealed class AuditNode : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private AuditNode(EchoServer echo, VpnNode node, ConsoleHost console)
    {
        Echo = echo;
        Node = node;
        Console = console;
    }

    public EchoServer Echo { get; }

    public VpnNode Node { get; }

    public ConsoleHost Console { get; }

    public static async Task<AuditNode> StartAsync(TestStore store, string? extra = null)
    {
        var echo = new EchoServer(new HostPort("127.0.0.1", 0));
        var text = ExampleTopology.Text.Replace("server = \"127.0.0.1:9000\"", $"server = \"{echo.Address}\"", StringComparison.Ordinal);
        var loaded = TopologyLoader.LoadText(text, "test topology");
        var topology = new TopologyModel(loaded.Source, loaded.Destinations, loaded.AuthServers,
            loaded.Proxies.Select(p => p with { Listen = new HostPort("127.0.0.1", 0) }).ToList(), loaded.Users);
        var config = ConfigurationFactory.ParseString(string.Join('\n', "akka.loglevel = WARNING", "actorvpn.console.endpoint = \"127.0.0.1:0\"", store.Hocon, extra ?? string.Empty));
        try
        {
            var node = await VpnNode.StartAsync(topology, config, [DurableStore.LayerFor(store.Store), ConsoleHost.Layer], dataDirectory: store.DataDirectory);
            return new AuditNode(echo, node, await ConsoleHost.StartAsync(new SingleProcessConsoleNode(node)));
        }
        catch
        {
            await echo.DisposeAsync();
            throw;
        }
    }

    /// <summary>One command on a fresh console connection, as operator <paramref name="operatorName"/> (its certificate's subject).</summary>
    public async Task<ConsoleReply> RunAsync(string operatorName, params string[] words)
    {
        await using var client = await ConsoleClient.ConnectAsync(Console.IssueOperator(operatorName), Deadline);
        return await client.RunAsync(words);
    }

    public static ClientProfile ProfileOf(ConsoleReply reply) => JsonSerializer.Deserialize<ClientProfile>(reply.ProfileJson!, Json)!;

    /// <summary>Opens a session through the chain and echoes bytes through it; false if the chain refused it.</summary>
    public async Task<bool> SessionAsync(ClientProfile profile)
    {
        var local = HostPort.Parse(await Node.ConnectAsync(profile, "server"));
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = new CancellationTokenSource(Deadline);
        await socket.ConnectAsync(local.Host, local.Port, deadline.Token);
        var payload = RandomNumberGenerator.GetBytes(4096);
        try
        {
            await socket.SendAsync(payload, SocketFlags.None, deadline.Token);
            var received = new byte[payload.Length];
            var got = 0;
            while (got < received.Length)
            {
                var n = await socket.ReceiveAsync(received.AsMemory(got), SocketFlags.None, deadline.Token);
                if (n == 0)
                {
                    return false;
                }

                got += n;
            }

            Assert.Equal(payload, received);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Console.Dispose();
        await Node.DisposeAsync();
        await Echo.DisposeAsync();
    }
}
