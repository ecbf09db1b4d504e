using System.Net.Sockets;
using System.Security.Cryptography;
using ActorVpn.Client;
using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.Proxies;
using ActorVpn.Testing;
using ActorVpn.Topology;
using ActorVpn.Wire;
using Akka.Actor;
using Akka.Configuration;
using Xunit;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.DataPlane.Tests;

/// <summary>
/// A running system for one test: an echo destination "server" on port 0, a <see cref="VpnNode"/> whose
/// proxies all listen on port 0, and an enrolled user "alice" at the home server "as1".
/// </summary>
internal sealed class ChainFixture : IAsyncDisposable
{
    public const string Destination = "server";
    public const string User = "alice";
    public const string Home = "as1";

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private ChainFixture(EchoServer echo, VpnNode node, ClientProfile profile, Akka.TestKit.Xunit2.TestKit kit)
    {
        Echo = echo;
        Node = node;
        Profile = profile;
        Kit = kit;
    }

    public EchoServer Echo { get; }

    public VpnNode Node { get; }

    /// <summary>alice's profile.</summary>
    public ClientProfile Profile { get; }

    /// <summary>A test kit on the node's actor system (AwaitAssert, probes); never disposed: the node owns the system.</summary>
    public Akka.TestKit.Xunit2.TestKit Kit { get; }

    public IReadOnlyList<string> ProxyNames => Node.Topology.Proxies.Select(p => p.Name).ToList();

    /// <summary>The harness's straight chain (<see cref="VpnScenario.ChainTopology"/>) with its destination left for the test's echo server.</summary>
    public static string ChainTopologyText(int proxies) =>
        VpnScenario.ChainTopology(proxies).Replace("server = \"127.0.0.1:9\"", "server = \"DESTINATION\"", StringComparison.Ordinal);

    /// <summary>The patent's example system (hocon/topology.example.hocon); its destination is the test's echo server.</summary>
    public static string ExampleTopologyText()
    {
        var text = ExampleTopology.Text.Replace("server = \"127.0.0.1:9000\"", "server = \"DESTINATION\"", StringComparison.Ordinal);
        return text.Contains("DESTINATION", StringComparison.Ordinal) ? text : throw new InvalidOperationException("the example topology's destination moved");
    }

    /// <summary>
    /// The same topology with every proxy listening on port 0 (the OS picks; <see cref="VpnNode.ProxyAddresses"/> reports it).
    /// The topology loader rejects port 0 in a file, so tests write placeholder ports and rewrite them here.
    /// </summary>
    public static TopologyModel WithEphemeralListenPorts(TopologyModel topology) =>
        new(topology.Source, topology.Destinations, topology.AuthServers,
            topology.Proxies.Select(p => p with { Listen = new HostPort("127.0.0.1", 0) }).ToList(), topology.Users);

    public static Task<ChainFixture> StartAsync(int proxies, string? overrides = null, TimeProvider? clock = null) =>
        StartFromTextAsync(ChainTopologyText(proxies), overrides, clock);

    public static async Task<ChainFixture> StartFromTextAsync(string topologyText, string? overrides = null, TimeProvider? clock = null)
    {
        var echo = new EchoServer(new HostPort("127.0.0.1", 0));
        try
        {
            var topology = WithEphemeralListenPorts(TopologyLoader.LoadText(topologyText.Replace("DESTINATION", echo.Address.ToString(), StringComparison.Ordinal), "test topology"));
            var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + (overrides ?? string.Empty));
            var node = await VpnNode.StartAsync(topology, config, clock: clock);
            try
            {
                var profile = await node.EnrollUserAsync(User, Home);
                return new ChainFixture(echo, node, profile, new Akka.TestKit.Xunit2.TestKit(node.System));
            }
            catch
            {
                await node.DisposeAsync();
                throw;
            }
        }
        catch
        {
            await echo.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts an <c>avpn connect</c> listener for <paramref name="profile"/> (alice's by default) and opens one local connection.</summary>
    public async Task<Socket> OpenLocalAsync(ClientProfile? profile = null)
    {
        var local = HostPort.Parse(await Node.ConnectAsync(profile ?? Profile, Destination));
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = new CancellationTokenSource(Deadline);
        await socket.ConnectAsync(local.Host, local.Port, deadline.Token);
        return socket;
    }

    /// <summary>Builds a chain directly (Fig. 5, 501-507) with alice's profile or <paramref name="profile"/>.</summary>
    public async Task<EstablishedChain> DialAsync(ClientProfile? profile = null)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        return await ChainDialer.BuildAsync(profile ?? Profile, Destination, TimeSpan.FromSeconds(10), TimeProvider.System, deadline.Token);
    }

    public async Task<ProxyProtocol.ProxyStatus> ProxyStatusAsync(string proxy) =>
        await Node.System.ActorSelection($"/user/proxies/{proxy}").Ask<ProxyProtocol.ProxyStatus>(ProxyProtocol.GetProxyStatus.Instance, Deadline);

    public async Task<AuthServerStatus> AuthStatusAsync(string authServer) => await Node.Control.AskAsync<AuthServerStatus>(authServer, GetStatus.Instance);

    /// <summary>Waits until no proxy has a live session and no auth server holds a certificate.</summary>
    public async Task AwaitIdleAsync()
    {
        await Kit.AwaitAssertAsync(async () =>
        {
            foreach (var proxy in ProxyNames)
            {
                var status = await ProxyStatusAsync(proxy);
                Assert.True(status.Sessions.Count == 0, $"{proxy} still has sessions: {string.Join(", ", status.Sessions.Select(s => $"{s.Id} ({s.Stage})"))}");
            }

            foreach (var server in Node.Topology.AuthServers.Select(a => a.Name))
            {
                var status = await AuthStatusAsync(server);
                Assert.True(status.Held.Count == 0, $"{server} still holds {status.Held.Count} certificate(s)");
            }
        }, Deadline, TimeSpan.FromMilliseconds(100));
    }

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        await Echo.DisposeAsync();
    }
}

/// <summary>Moving and checking bytes.</summary>
internal static class Traffic
{
    /// <summary>Sends <paramref name="bytes"/> random bytes, half-closes, reads the echo to EOF and compares SHA-256.</summary>
    public static async Task EchoAndVerifyAsync(Socket socket, int bytes, bool halfClose = true)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var payload = RandomNumberGenerator.GetBytes(bytes);
        await EchoAndVerifyAsync(stream, payload, halfClose ? () => socket.Shutdown(SocketShutdown.Send) : null);
    }

    /// <summary>Writes <paramref name="payload"/> while reading as many bytes back; then (after <paramref name="shutdown"/>) expects EOF.</summary>
    public static async Task EchoAndVerifyAsync(Stream stream, byte[] payload, Action? shutdown)
    {
        using var deadline = new CancellationTokenSource(ChainFixture.Deadline);
        var sending = Task.Run(async () =>
        {
            for (var offset = 0; offset < payload.Length; offset += 64 * 1024)
            {
                await stream.WriteAsync(payload.AsMemory(offset, Math.Min(64 * 1024, payload.Length - offset)), deadline.Token);
            }

            await stream.FlushAsync(deadline.Token);
            shutdown?.Invoke();
        });
        var received = new byte[payload.Length];
        await stream.ReadExactlyAsync(received, deadline.Token);
        await sending;
        Assert.Equal(Convert.ToHexString(SHA256.HashData(payload)), Convert.ToHexString(SHA256.HashData(received)));
        if (shutdown is not null)
        {
            Assert.Equal(0, await stream.ReadAsync(new byte[1], deadline.Token)); // then EOF: the echo's half-close came back
        }
    }

    /// <summary>True once the peer has closed <paramref name="socket"/>: a read returns 0 or fails.</summary>
    public static async Task AssertClosedByPeerAsync(Socket? socket)
    {
        if (socket is null)
        {
            return; // reset while connecting (LocalConnections.OpenRefusedAsync)
        }

        using var deadline = new CancellationTokenSource(ChainFixture.Deadline);
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
            Assert.Fail($"the connection was not closed within {ChainFixture.Deadline.TotalSeconds:0} s");
        }
    }
}
