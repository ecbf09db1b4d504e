using System.Net;
using ActorVpn.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.Deployment.Tests;

/// <summary>
/// Clients outside the cluster reach an entry proxy through its Service (a LoadBalancer or NodePort),
/// never by the pod's own name: the profiles the nodes write must carry the address the operator
/// advertises for it (AVPN_PROXY_ADVERTISE, as the overlays set it), and that address must work.
/// </summary>
public sealed class EntryProxyAddressTests(ITestOutputHelper output)
{
    private static readonly string[] BothGroups = ["as1", "as4"];

    [SkippableFact]
    public async Task Profiles_written_by_any_node_carry_the_advertised_entry_proxy_address_and_a_session_through_it_works()
    {
        // The "load balancer": an address of its own in front of proxy1's port, as a Service is in front of the pod.
        DeployedCluster? started = null;
        await using var balancer = new TcpForwarder(new IPEndPoint(IPAddress.Loopback, 0), () => new IPEndPoint(IPAddress.Loopback, started!.ProxyPort("proxy1")));
        var advertised = $"127.0.0.1:{balancer.Address.Port}";

        // node1 hosts the groups and no proxy (an auth pod, where an operator's console runs); node2 every proxy.
        await using var cluster = await DeployedCluster.StartAsync(
            [new("node1", BothGroups, []), new("node2", BothGroups, ["proxy1", "proxy2", "proxy3"])],
            environment: new Dictionary<string, string>(StringComparer.Ordinal) { ["AVPN_PROXY_ADVERTISE"] = $"proxy1={advertised}" });
        started = cluster;
        try
        {
            // The topology user node2 registered at start: its profile names the advertised address, not proxy1's own.
            var alice = await cluster.TopologyProfileAsync("node2", "alice");
            Assert.Equal(advertised, alice.Entries["server"].Address);
            Assert.True(await cluster.NewSessionWorksAsync(alice, DeployedCluster.Generous), "alice's session through the advertised address of proxy1 carried no data");

            // `user add` on the proxyless node: it can write the profile since it knows proxy1's external address.
            var bob = await cluster.AddUserAsync("node1", "bob");
            Assert.Equal(advertised, bob.Entries["server"].Address);
            Assert.True(await cluster.NewSessionWorksAsync(bob, DeployedCluster.Generous), "bob's session through the advertised address of proxy1 carried no data");
            output.WriteLine($"profiles carry proxy1 at {advertised} (proxy1 itself listens on 127.0.0.1:{cluster.ProxyPort("proxy1")})");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n{cluster.Diagnostics()}", e);
        }
    }
}
