using System.Net;
using System.Net.Sockets;
using ActorVpn.Topology;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>
/// The console's limits come from <c>actorvpn.console</c>: frame sizes, and what it admits before
/// an operator has authenticated. Idle connections that never start TLS come from 127.0.0.2, the
/// operator from 127.0.0.1, so the per-address cap shows that one source cannot lock the operator out.
/// </summary>
public sealed class LimitsTests
{
    private static readonly IPAddress Flooder = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task A_request_over_the_configured_max_request_is_refused()
    {
        await using var system = await ConsoleFixture.StartAsync("actorvpn.console.max-request = 1024");
        await using var client = await system.ConnectAsync();

        var reply = await client.RunAsync(["user", "show", new string('a', 2000)]);

        Assert.Equal(ConsoleReply.Failed, reply.Exit);
        Assert.Contains("over the limit of 1024", reply.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reply_over_the_configured_max_reply_becomes_a_failure_asking_to_narrow_the_command()
    {
        await using var system = await ConsoleFixture.StartAsync("actorvpn.console.max-reply = 1024");

        var small = await system.RunAsync("user", "list");
        var big = await system.RunAsync("log", "peek", "--lines", "500");

        Assert.Equal(ConsoleReply.Ok, small.Exit);
        Assert.Equal(ConsoleReply.Failed, big.Exit);
        Assert.Contains("larger than 1024 bytes", big.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connections_beyond_the_per_address_cap_are_closed_at_once_and_the_operator_still_gets_in()
    {
        await using var system = await ConsoleFixture.StartAsync("""
            actorvpn.console.handshake-timeout = 120s
            actorvpn.console.admission.max-unauthenticated-per-address = 3
            """);
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                idle.Add(await ConnectFromAsync(Flooder, system.Console.Address));
            }

            using var beyond = await ConnectFromAsync(Flooder, system.Console.Address);
            await Traffic.AssertClosedByPeerAsync(beyond);

            Assert.Equal(ConsoleReply.Ok, (await system.RunAsync("user", "list")).Exit);
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task At_the_global_cap_new_connections_are_refused_until_an_idle_one_is_dropped_at_the_pre_auth_deadline()
    {
        await using var system = await ConsoleFixture.StartAsync("""
            actorvpn.console.handshake-timeout = 2s
            actorvpn.console.admission.max-unauthenticated = 1
            """);
        using var idle = await ConnectFromAsync(Flooder, system.Console.Address);

        // The only place is held by a connection that never starts TLS: the operator is turned away ...
        await Assert.ThrowsAsync<IOException>(() => system.RunAsync("user", "list"));

        // ... until the node drops it at the pre-authentication deadline, which frees the place.
        await Traffic.AssertClosedByPeerAsync(idle);
        Assert.Equal(ConsoleReply.Ok, (await system.RunAsync("user", "list")).Exit);
    }

    private static async Task<Socket> ConnectFromAsync(IPAddress source, string address)
    {
        var endpoint = HostPort.Parse(address);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        using var deadline = new CancellationTokenSource(ConsoleFixture.Deadline);
        await socket.ConnectAsync(IPAddress.Parse(endpoint.Host), endpoint.Port, deadline.Token);
        return socket;
    }
}
