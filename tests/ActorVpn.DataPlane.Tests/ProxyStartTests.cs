using System.Net;
using System.Net.Sockets;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.DataPlane.Tests;

/// <summary>A proxy that cannot listen stops the start, and the error says which proxy and why (not an ask timeout).</summary>
public sealed class ProxyStartTests
{
    [Fact]
    public async Task A_proxy_whose_port_is_taken_fails_the_start_with_the_bind_error()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var declared = TopologyLoader.LoadText(ChainFixture.ChainTopologyText(2).Replace("DESTINATION", "127.0.0.1:9", StringComparison.Ordinal), "test topology");
        // proxy2 on the squatted port, proxy1 on any free one.
        var topology = new TopologyModel(declared.Source, declared.Destinations, declared.AuthServers,
            declared.Proxies.Select(p => p with { Listen = new HostPort("127.0.0.1", p.Name == "proxy2" ? taken : 0) }).ToList(), declared.Users);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => VpnNode.StartAsync(topology, ConfigurationFactory.ParseString("akka.loglevel = OFF")));

        Assert.Contains("proxy proxy2 did not start", e.Message, StringComparison.Ordinal);
        Assert.Contains($"cannot listen on 127.0.0.1:{taken}", e.Message, StringComparison.Ordinal);
    }
}
