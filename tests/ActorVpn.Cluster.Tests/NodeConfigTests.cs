using System.Net;
using System.Net.Sockets;
using ActorVpn.Hosting;
using ActorVpn.Testing;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.Cluster.Tests;

/// <summary>A node's configuration layers, what it derives from them, and its health endpoints.</summary>
public sealed class NodeConfigTests
{
    private static readonly IReadOnlyDictionary<string, string> Pod = new Dictionary<string, string>
    {
        ["POD_NAME"] = "actorvpn-proxy-0",
        ["AVPN_HOSTNAME"] = "0.0.0.0",
        ["AVPN_PORT"] = "4100",
        ["AVPN_SEED_STATEFULSET"] = "actorvpn-auth",
        ["AVPN_SEED_SERVICE"] = "actorvpn-cluster",
        ["AVPN_REPLICAS"] = "3",
        ["AVPN_ROLES"] = "edge, eu-west",
        ["AVPN_PROXIES"] = "proxy1,proxy2",
    };

    [Fact]
    public async Task Environment_overrides_win_over_the_embedded_layers_and_the_operator_file()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "akka.remote.dot-netty.tcp.port = 5000\nactorvpn.node.groups = [as1]\n");
            var config = ClusterNode.LoadConfig(file, environment: v => Pod.GetValueOrDefault(v));
            Assert.Equal(4100, config.GetInt("akka.remote.dot-netty.tcp.port"));
            Assert.Equal("0.0.0.0", config.GetString("akka.remote.dot-netty.tcp.hostname"));
            Assert.Equal(["edge", "eu-west"], config.GetStringList("akka.cluster.roles"));
            Assert.Equal(["as1"], config.GetStringList("actorvpn.node.groups")); // from the file
            Assert.Equal("cluster", config.GetString("akka.actor.provider"));
            Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
            // The surviving side starts a downed node's groups only after the minority, whose decision can lag by the
            // failure detector's pause, has stopped them: never before stable-after plus that pause.
            var node = Akka.Actor.ActorSystem.Create("node-config-check", config);
            try
            {
                var cluster = Akka.Cluster.Cluster.Get(node);
                var margin = cluster.DowningProvider.DownRemovalMargin;
                Assert.True(margin >= config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after")
                    + cluster.Settings.FailureDetectorConfig.GetTimeSpan("acceptable-heartbeat-pause"),
                    $"down-removal-margin {margin} is shorter than stable-after plus the heartbeat pause");
                // A node that never joins stops, so its supervisor restarts it rather than keeping it unready for good.
                Assert.Equal(TimeSpan.FromSeconds(60), cluster.Settings.ShutdownAfterUnsuccessfulJoinSeedNodes);
            }
            finally
            {
                await node.Terminate();
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Roles_seeds_and_public_hostname_are_derived_in_one_place()
    {
        var config = ClusterNode.LoadConfig(overrides: ConfigurationFactory.ParseString("actorvpn.node.groups = [as1, as4]"), environment: v => Pod.GetValueOrDefault(v));
        var options = NodeOptions.FromConfig(config);
        var derived = ClusterNode.Derive(config, options, v => Pod.GetValueOrDefault(v));

        Assert.Equal(["edge", "eu-west", "auth", "group-as1", "group-as4", "proxy"], derived.GetStringList("akka.cluster.roles"));
        Assert.Equal(
            ["akka.tcp://actorvpn@actorvpn-auth-0.actorvpn-cluster:4100", "akka.tcp://actorvpn@actorvpn-auth-1.actorvpn-cluster:4100", "akka.tcp://actorvpn@actorvpn-auth-2.actorvpn-cluster:4100"],
            derived.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("actorvpn-proxy-0.actorvpn-cluster", derived.GetString("akka.remote.dot-netty.tcp.public-hostname"));
    }

    [Fact]
    public void Derived_seeds_name_the_tls_transport_when_remote_tls_is_on()
    {
        // A pod with remote TLS (as every manifest sets it) answers only akka.ssl.tcp: seeds named akka.tcp would never be joined.
        var config = ClusterNode.LoadConfig(overrides: ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = on"), environment: v => Pod.GetValueOrDefault(v));
        var derived = ClusterNode.Derive(config, NodeOptions.FromConfig(config), v => Pod.GetValueOrDefault(v));
        Assert.All(derived.GetStringList("akka.cluster.seed-nodes"), seed => Assert.StartsWith("akka.ssl.tcp://actorvpn@actorvpn-auth-", seed, StringComparison.Ordinal));
    }

    [Fact]
    public void Explicit_seed_nodes_are_kept()
    {
        var env = new Dictionary<string, string>(Pod) { ["AVPN_SEED_NODES"] = "akka.tcp://actorvpn@a:4053, akka.tcp://actorvpn@b:4053" };
        var config = ClusterNode.LoadConfig(environment: v => env.GetValueOrDefault(v));
        var derived = ClusterNode.Derive(config, NodeOptions.FromConfig(config), v => env.GetValueOrDefault(v));
        Assert.Equal(["akka.tcp://actorvpn@a:4053", "akka.tcp://actorvpn@b:4053"], derived.GetStringList("akka.cluster.seed-nodes"));
    }

    [Fact]
    public async Task A_group_or_proxy_the_topology_lacks_fails_at_start_naming_the_key()
    {
        var config = ClusterNode.LoadConfig(overrides: ConfigurationFactory.ParseString("actorvpn.node.groups = [as2]"), environment: _ => null);
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => ClusterNode.StartAsync(config, environment: _ => null));
        Assert.Contains("actorvpn.node.groups", e.Message);
        Assert.Contains("as2", e.Message);
    }

    [Fact]
    public async Task A_health_port_out_of_range_fails_at_start_naming_the_key()
    {
        var config = ClusterNode.LoadConfig(overrides: ConfigurationFactory.ParseString("actorvpn.node.health.port = 85510"), environment: _ => null);
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => ClusterNode.StartAsync(config, environment: _ => null));
        Assert.Contains("actorvpn.node.health.port", e.Message);
        Assert.Contains("85510", e.Message);
    }

    [Fact]
    public async Task A_node_serves_prometheus_metrics_on_its_health_port()
    {
        var healthPort = FreePorts.Take();
        var config = NodeWithHealthPort(healthPort);
        var node = await ClusterNode.StartAsync(config, environment: _ => null);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}"), Timeout = TimeSpan.FromSeconds(10) };
            node.Cluster.Join(node.Cluster.SelfAddress);
            var kit = new Akka.TestKit.Xunit2.TestKit(node.System);
            await kit.AwaitAssertAsync(async () =>
            {
                // as1's group runs once the node is up: its figures are then on the page.
                using var response = await http.GetAsync(MetricsEndpoint.Path);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
                var text = await response.Content.ReadAsStringAsync();
                Assert.Contains("# TYPE avpn_auth_server_held_certificates gauge\n", text, StringComparison.Ordinal);
                Assert.Contains("avpn_auth_server_handoffs_in_flight{avpn_auth_server=\"as1\"} 0\n", text, StringComparison.Ordinal);
            }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
            await node.LeaveAsync();
        }
        finally
        {
            await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task Health_endpoints_report_live_then_ready_once_the_node_is_up_and_it_leaves_gracefully()
    {
        var healthPort = FreePorts.Take();
        var config = NodeWithHealthPort(healthPort);
        var node = await ClusterNode.StartAsync(config, environment: _ => null);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}"), Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(HealthPaths.Live)).StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(HealthPaths.Ready)).StatusCode); // not joined yet

            node.Cluster.Join(node.Cluster.SelfAddress);
            var kit = new Akka.TestKit.Xunit2.TestKit(node.System);
            await kit.AwaitAssertAsync(async () => Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(HealthPaths.Ready)).StatusCode),
                TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
            Assert.Contains(ClusterRoles.Auth, node.Cluster.SelfRoles);
            Assert.Contains(GroupPlacement.RoleOf("as1"), node.Cluster.SelfRoles);

            await node.LeaveAsync();
            Assert.True(node.System.WhenTerminated.IsCompleted);
            Assert.True(node.Cluster.IsTerminated);
        }
        finally
        {
            await node.DisposeAsync();
        }
    }

    /// <summary>A node hosting as1, quick to form a cluster of one, with its health endpoints on <paramref name="healthPort"/>.</summary>
    private static Akka.Configuration.Config NodeWithHealthPort(int healthPort) => ClusterNode.LoadConfig(overrides: ConfigurationFactory.ParseString($$"""
        akka.loglevel = WARNING
        akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
        akka.cluster { periodic-tasks-initial-delay = 0s, gossip-interval = 200ms, leader-actions-interval = 200ms }
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        actorvpn.node { groups = [as1], health { hostname = "127.0.0.1", port = {{healthPort}} } }
        """), environment: _ => null);
}
