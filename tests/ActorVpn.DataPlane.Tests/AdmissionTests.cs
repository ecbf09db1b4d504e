using System.Net;
using System.Net.Sockets;
using ActorVpn.Testing;
using ActorVpn.Topology;
using Xunit;

namespace ActorVpn.DataPlane.Tests;

/// <summary>
/// A proxy admits a bounded number of connections that have not authenticated yet, per source
/// address and in total, and drops one that stalls before sending its request. The idle connections
/// come from 127.0.0.2; alice (and the proxies' inner hops) from 127.0.0.1.
/// </summary>
public sealed class AdmissionTests
{
    private static readonly IPAddress Flooder = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task Idle_connections_beyond_the_per_address_cap_are_closed_at_once_and_another_user_still_connects()
    {
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions
        {
            Config = """
                actorvpn.data-plane.handshake-timeout = 120s
                actorvpn.data-plane.pre-auth-timeout = 120s
                actorvpn.data-plane.admission.max-unauthenticated-per-address = 3
                """,
        });
        var alice = await scenario.EnrollAsync("alice");
        var entry = alice.Entries.Values.First().Address;
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                idle.Add(await ConnectFromAsync(Flooder, entry));
            }

            using var beyond = await ConnectFromAsync(Flooder, entry);
            Assert.True(await ClosedByPeerAsync(beyond), "a connection beyond the per-address cap was kept open");

            await using var session = await scenario.ConnectAsync("alice");
            Assert.True(await session.RoundTripAsync(16 * 1024));
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task A_connection_that_sends_nothing_is_dropped_at_the_pre_auth_deadline()
    {
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions
        {
            Config = """
                actorvpn.data-plane.handshake-timeout = 120s
                actorvpn.data-plane.pre-auth-timeout = 1s
                """,
        });
        var alice = await scenario.EnrollAsync("alice");
        using var idle = await ConnectFromAsync(Flooder, alice.Entries.Values.First().Address);

        Assert.True(await ClosedByPeerAsync(idle), "a connection that never started TLS outlived the pre-authentication deadline");
    }

    private static async Task<Socket> ConnectFromAsync(IPAddress source, string address)
    {
        var endpoint = HostPort.Parse(address);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        using var deadline = new CancellationTokenSource(VpnScenario.DefaultDeadline);
        await socket.ConnectAsync(IPAddress.Parse(endpoint.Host), endpoint.Port, deadline.Token);
        return socket;
    }

    /// <summary>True once the proxy closed <paramref name="socket"/> (end of stream or reset) within the deadline.</summary>
    private static async Task<bool> ClosedByPeerAsync(Socket socket)
    {
        using var deadline = new CancellationTokenSource(VpnScenario.DefaultDeadline);
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
