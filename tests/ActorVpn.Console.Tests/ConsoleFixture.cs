using System.Net.Sockets;
using System.Security.Cryptography;
using ActorVpn.Client;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Topology;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>
/// The patent's example system (as1 → as2 → as4 → as3, proxies on port 0, an echo destination) with
/// its console on an ephemeral port, and alice enrolled at as1. One per test.
/// </summary>
internal sealed class ConsoleFixture : IAsyncDisposable
{
    public const string Destination = "server";
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private ConsoleFixture(EchoServer echo, VpnNode node, ConsoleHost console, ClientProfile alice)
    {
        Echo = echo;
        Node = node;
        Console = console;
        Alice = alice;
        Kit = new Akka.TestKit.Xunit2.TestKit(node.System);
    }

    public EchoServer Echo { get; }

    public VpnNode Node { get; }

    public ConsoleHost Console { get; }

    public ClientProfile Alice { get; }

    public Akka.TestKit.Xunit2.TestKit Kit { get; }

    public static async Task<ConsoleFixture> StartAsync()
    {
        var echo = new EchoServer(new HostPort("127.0.0.1", 0));
        var text = ExampleTopology.Text.Replace("server = \"127.0.0.1:9000\"", $"server = \"{echo.Address}\"", StringComparison.Ordinal);
        var loaded = TopologyLoader.LoadText(text, "test topology");
        var topology = new TopologyModel(loaded.Source, loaded.Destinations, loaded.AuthServers,
            loaded.Proxies.Select(p => p with { Listen = new HostPort("127.0.0.1", 0) }).ToList(), loaded.Users);
        // Only the ring-buffer logger: `log peek` sees INFO lines, the test output stays quiet.
        var config = ConfigurationFactory.ParseString("""
            akka.loglevel = INFO
            akka.loggers = ["ActorVpn.OperatorConsole.Logging.RingBufferLogger, ActorVpn.Console"]
            actorvpn.console.endpoint = "127.0.0.1:0"
            """);
        var node = await VpnNode.StartAsync(topology, config, [HoconLayers.PersistenceInMemory, ConsoleHost.Layer]);
        var console = await ConsoleHost.StartAsync(node);
        var alice = await node.EnrollUserAsync("alice", "as1");
        return new ConsoleFixture(echo, node, console, alice);
    }

    public Task<ConsoleClient> ConnectAsync() => ConsoleClient.ConnectAsync(Console.Credential, Deadline);

    /// <summary>Runs one command on a fresh console connection.</summary>
    public async Task<ConsoleReply> RunAsync(params string[] words)
    {
        await using var client = await ConnectAsync();
        return await client.RunAsync(words);
    }

    /// <summary>Starts an <c>avpn connect</c> listener in the node's system for <paramref name="profile"/> and opens a local connection through it.</summary>
    public async Task<Socket> OpenLocalAsync(ClientProfile profile)
    {
        var local = HostPort.Parse(await Node.ConnectAsync(profile, Destination));
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = new CancellationTokenSource(Deadline);
        await socket.ConnectAsync(local.Host, local.Port, deadline.Token);
        return socket;
    }

    public async ValueTask DisposeAsync()
    {
        Console.Dispose();
        await Node.DisposeAsync();
        await Echo.DisposeAsync();
    }
}

internal static class Traffic
{
    /// <summary>Writes random bytes and reads the same back through the chain, leaving the connection open.</summary>
    public static async Task EchoAsync(Socket socket, int bytes = 32 * 1024)
    {
        using var deadline = new CancellationTokenSource(ConsoleFixture.Deadline);
        var payload = RandomNumberGenerator.GetBytes(bytes);
        await socket.SendAsync(payload, SocketFlags.None, deadline.Token);
        var received = new byte[bytes];
        var got = 0;
        while (got < bytes)
        {
            var n = await socket.ReceiveAsync(received.AsMemory(got), SocketFlags.None, deadline.Token);
            Assert.True(n > 0, "the chain closed before the echo came back");
            got += n;
        }

        Assert.Equal(payload, received);
    }

    /// <summary>Passes once the peer has closed <paramref name="socket"/> (a read returns 0 or fails).</summary>
    public static async Task AssertClosedByPeerAsync(Socket socket)
    {
        using var deadline = new CancellationTokenSource(ConsoleFixture.Deadline);
        var buffer = new byte[64 * 1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token) > 0)
            {
                // drain whatever was in flight
            }
        }
        catch (SocketException)
        {
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the connection was not closed within {ConsoleFixture.Deadline.TotalSeconds:0} s");
        }
    }
}
