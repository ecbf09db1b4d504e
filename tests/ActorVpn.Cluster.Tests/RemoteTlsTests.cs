using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.Testing;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Xunit;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Cluster.Tests;

/// <summary>Akka.Remote over mutual TLS by configuration (hocon/remote.hocon, <see cref="RemoteTls"/>).</summary>
public sealed class RemoteTlsTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvpn-remote-tls-").FullName;
    private readonly List<ClusterNode> _nodes = [];
    private EchoServer? _echo;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes.AsEnumerable().Reverse())
        {
            await node.DisposeAsync();
        }

        if (_echo is not null)
        {
            await _echo.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Nodes_with_their_own_certificates_from_the_cluster_CA_form_over_TLS_and_carry_a_hand_off_and_a_node_from_another_CA_cannot_join()
    {
        using var ca = new ClusterCertificates(_dir);
        using var foreignCa = new ClusterCertificates(Directory.CreateDirectory(Path.Combine(_dir, "foreign")).FullName, "another-ca");
        _echo = new EchoServer(new HostPort("127.0.0.1", 0));
        var topology = ClusterFailoverTests.Topology(_echo.Address);

        var node1 = await StartAsync(topology, "groups = [as1], proxies = [proxy1]", ca.EnvironmentFor("node-1"), seed: null);
        node1.Cluster.Join(node1.Cluster.SelfAddress);
        var node2 = await StartAsync(topology, "groups = [as4], proxies = [proxy2, proxy3]", ca.EnvironmentFor("node-2"), node1.Cluster.SelfAddress.ToString());
        var kit = new Akka.TestKit.Xunit2.TestKit(node1.System);
        await kit.AwaitAssertAsync(() => Assert.Equal(2, node1.Cluster.State.Members.Count(m => m.Status == MemberStatus.Up)), Generous, TimeSpan.FromMilliseconds(200));
        Assert.True(RemoteTls.Enabled(node1.System.Settings.Config));

        // The patent's flow across the two nodes: as1 (node1) hands off to as2/as4/as3 (node2) over TLS.
        await node1.Routes["as3"].Ask<AuthServerIdentity>(GetIdentity.Instance, Generous);
        foreach (var proxy in new[] { "proxy2", "proxy3" })
        {
            await node2.ProxyAddressAsync(proxy, Generous); // enrolled: its auth server can pin it in routes
        }

        var plane = await ControlPlane.AttachAsync(node1.System, topology, name => node1.Routes[name], Generous);
        var alice = await ClusterFailoverTests.ProfileAsync(plane, topology, node1, "alice", "as1");
        Assert.Equal(["proxy1", "proxy2", "proxy3"], await ClusterFailoverTests.DialAndEchoAsync(alice));

        // A node whose certificate another CA issued: node1 refuses it as a TLS client (its client
        // certificate is checked against the cluster CA too), so it never associates or joins.
        var warnings = new Akka.TestKit.TestProbe(node1.System, new Akka.TestKit.Xunit2.XunitAssertions());
        node1.System.EventStream.Subscribe(warnings.Ref, typeof(Akka.Event.Warning));
        // The stranger trusts both CAs, so it accepts node1's certificate and it is node1 that must refuse.
        var bundle = Path.Combine(_dir, "both-cas.crt");
        File.WriteAllText(bundle, File.ReadAllText(ca.CaPath) + "\n" + File.ReadAllText(foreignCa.CaPath));
        var stranger = new Dictionary<string, string>(foreignCa.EnvironmentFor("stranger")) { ["AVPN_REMOTE_TLS_CA"] = bundle };
        var node3 = await StartAsync(topology, "groups = [], proxies = []", stranger, node1.Cluster.SelfAddress.ToString());
        await warnings.FishForMessageAsync<Akka.Event.Warning>(w => w.Message.ToString()!.Contains("not issued by the cluster CA", StringComparison.Ordinal), Generous);
        Assert.NotEqual(MemberStatus.Up, node3.Cluster.SelfMember.Status);
        Assert.DoesNotContain(node1.Cluster.State.Members, m => m.Address.Equals(node3.Cluster.SelfAddress));
        Assert.Equal(2, node1.Cluster.State.Members.Count(m => m.Status == MemberStatus.Up));
    }

    [Fact]
    public async Task A_node_bound_beyond_loopback_without_TLS_refuses_to_start_and_says_how_to_turn_it_on()
    {
        var config = ClusterNode.LoadConfig(environment: v => v == "AVPN_HOSTNAME" ? "0.0.0.0" : null);
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => ClusterNode.StartAsync(config, environment: _ => null));
        Assert.Contains("AVPN_REMOTE_TLS=on", e.Message);
        Assert.Contains("AVPN_REMOTE_TLS_CA", e.Message);
    }

    [Fact]
    public async Task Tls_on_without_a_certificate_fails_at_start_naming_the_key()
    {
        var config = ClusterNode.LoadConfig(environment: v => v == "AVPN_REMOTE_TLS" ? "on" : null);
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => ClusterNode.StartAsync(config, environment: _ => null));
        Assert.Contains("ssl.certificate.path", e.Message);
    }

    // TLS on through the environment, as a pod sets it (AVPN_REMOTE_TLS*).
    private async Task<ClusterNode> StartAsync(TopologyModel topology, string node, IReadOnlyDictionary<string, string> environment, string? seed)
    {
        var overrides = ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.cluster {
              seed-nodes = [{{(seed is null ? string.Empty : $"\"{seed}\"")}}]
              periodic-tasks-initial-delay = 0s, gossip-interval = 200ms, leader-actions-interval = 200ms
              retry-unsuccessful-join-after = 1s, seed-node-timeout = 2s
            }
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
            actorvpn.node { {{node}}, health.port = 0, drain-period = 1s }
            """);
        var config = ClusterNode.LoadConfig(overrides: overrides, environment: v => environment.GetValueOrDefault(v));
        var started = await ClusterNode.StartAsync(config, topology, environment: _ => null);
        _nodes.Add(started);
        return started;
    }
}
