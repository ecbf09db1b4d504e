using System.Net.Sockets;
using System.Security.Cryptography;
using ActorVpn.Client;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Testing;
using ActorVpn.Topology;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>
/// The patent's example system (as1 → as2 → as4 → as3, proxies on ephemeral ports, an echo
/// destination) built by the harness (<see cref="VpnScenario"/>), with its console on an ephemeral
/// port, and alice enrolled at as1. One per test.
/// </summary>
internal sealed class ConsoleFixture : IAsyncDisposable
{
    public const string Destination = "server";
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private ConsoleFixture(VpnScenario scenario, ConsoleHost console, ClientProfile alice)
    {
        Scenario = scenario;
        Console = console;
        Alice = alice;
        Kit = new Akka.TestKit.Xunit2.TestKit(scenario.Node.System);
    }

    public VpnScenario Scenario { get; }

    public VpnNode Node => Scenario.Node;

    public ConsoleHost Console { get; }

    public ClientProfile Alice { get; }

    public Akka.TestKit.Xunit2.TestKit Kit { get; }

    /// <param name="config">More HOCON for the node (e.g. console limits); it wins over the defaults.</param>
    public static async Task<ConsoleFixture> StartAsync(string? config = null)
    {
        // Only the ring-buffer logger: `log peek` sees INFO lines, the test output stays quiet.
        var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions
        {
            Config = """
                akka.loglevel = INFO
                akka.loggers = ["ActorVpn.OperatorConsole.Logging.RingBufferLogger, ActorVpn.Console"]
                actorvpn.console.endpoint = "127.0.0.1:0"
                """ + "\n" + config,
        });
        try
        {
            var console = await ConsoleHost.StartAsync(new SingleProcessConsoleNode(scenario.Node));
            var alice = await scenario.EnrollAsync("alice");
            return new ConsoleFixture(scenario, console, alice);
        }
        catch
        {
            await scenario.DisposeAsync();
            throw;
        }
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
        await Scenario.DisposeAsync();
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
    public static async Task AssertClosedByPeerAsync(Socket? socket)
    {
        if (socket is null)
        {
            return; // reset while connecting (LocalConnections.OpenRefusedAsync)
        }

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
