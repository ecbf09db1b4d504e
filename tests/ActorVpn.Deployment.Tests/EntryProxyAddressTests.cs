using System.Net;
using ActorVpn.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.Deployment.Tests;

/// <summary>
/// Clients outside the cluster reach an entry proxy through its Service (a LoadBalancer or NodePort),
/// never by the pod's own name: the profiles the nodes write must carry the address the operator
/// advertises for it (AVPN_PROXY_ADVERTISE, as the overlays set it), and that address must work.
/// The layout is the manifests': the auth node hosts the groups and no proxy, the proxy node hosts
/// the proxies and no group (role <c>proxy</c> only), so it may not register users.
/// </summary>
public sealed class EntryProxyAddressTests(ITestOutputHelper output)
{
    private static readonly string[] BothGroups = ["as1", "as4"];

    [SkippableFact]
    public async Task The_auth_node_registers_topology_users_and_writes_profiles_with_the_advertised_entry_address_while_the_proxy_node_may_not_register()
    {
        // The "load balancer": an address of its own in front of proxy1's port, as a Service is in front of the pod.
        DeployedCluster? started = null;
        await using var balancer = new TcpForwarder(new IPEndPoint(IPAddress.Loopback, 0), () => new IPEndPoint(IPAddress.Loopback, started!.ProxyPort("proxy1")));
        var advertised = $"127.0.0.1:{balancer.Address.Port}";

        await using var cluster = await DeployedCluster.StartAsync(
            [new("node1", BothGroups, []), new("node2", [], ["proxy1", "proxy2", "proxy3"])],
            environment: new Dictionary<string, string>(StringComparer.Ordinal) { ["AVPN_PROXY_ADVERTISE"] = $"proxy1={advertised}" });
        started = cluster;
        try
        {
            // The topology user node1 registered at start (it runs alice's home group): her profile names
            // the advertised address, not proxy1's own, and a session through that address works.
            var alice = await cluster.TopologyProfileAsync("node1", "alice");
            Assert.Equal(advertised, alice.Entries["server"].Address);
            Assert.True(await cluster.NewSessionWorksAsync(alice, DeployedCluster.Generous), "alice's session through the advertised address of proxy1 carried no data");

            // `user add` on the auth node's console: the same address, and it works.
            var bob = await cluster.AddUserAsync("node1", "bob");
            Assert.Equal(advertised, bob.Entries["server"].Address);
            Assert.True(await cluster.NewSessionWorksAsync(bob, DeployedCluster.Generous), "bob's session through the advertised address of proxy1 carried no data");

            // The proxy node's console cannot register anyone: as1 refuses a sender with role proxy only.
            await using (var console = await cluster.ConsoleOfAsync("node2"))
            {
                var refused = await console.RunAsync(["user", "add", "mallory", "--auth-server", "as1"]);
                Assert.NotEqual(ActorVpn.OperatorConsole.ConsoleReply.Ok, refused.Exit);
                Assert.Contains("none of the roles allowed", refused.Error, StringComparison.Ordinal);
            }

            output.WriteLine($"profiles carry proxy1 at {advertised} (proxy1 itself listens on 127.0.0.1:{cluster.ProxyPort("proxy1")})");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n{cluster.Diagnostics()}", e);
        }
    }
}
