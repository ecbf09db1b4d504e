using System.Net;
using System.Net.Sockets;
using ActorVpn.Testing;
using ActorVpn.Topology;
using Akka.Cluster;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.Cluster.Tests;

/// <summary>
/// /healthz/ready = joined the cluster AND the durable store answers; proxies advertise
/// the configured host, not their bind address.
/// </summary>
public sealed class ReadinessTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private readonly string _journal = Path.Combine(Path.GetTempPath(), $"actorvpn-ready-{Guid.NewGuid():N}.db");
    private readonly List<ClusterNode> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes.AsEnumerable().Reverse())
        {
            await node.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(_journal);
    }

    [Fact]
    public async Task Ready_only_when_joined_and_the_store_answers_and_proxies_advertise_the_configured_host()
    {
        var topology = ClusterFailoverTests.Topology(new HostPort("127.0.0.1", 9));
        var healthA = FreePorts.Take();
        var healthB = FreePorts.Take();

        // A: a good store (a SQLite file), hosts as1 and proxy1, advertises "localhost".
        var a = await StartAsync(topology, healthA, $$"""
            actorvpn.node { groups = [as1], proxies = [proxy1], advertise-host = "localhost" }
            akka.persistence.journal { plugin = "akka.persistence.journal.sql", sql {
              class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
              connection-string = "Data Source={{_journal}}", provider-name = "SQLite.MS", auto-initialize = on } }
            akka.persistence.snapshot-store { plugin = "akka.persistence.snapshot-store.sql", sql {
              class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
              connection-string = "Data Source={{_journal}}", provider-name = "SQLite.MS", auto-initialize = on } }
            """, seed: null);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync($"http://127.0.0.1:{healthA}{HealthPaths.Ready}")).StatusCode); // not joined yet
        a.Cluster.Join(a.Cluster.SelfAddress);

        // B: PostgreSQL selected by its connection string (as AVPN_POSTGRES does), on a port nobody listens on.
        var b = await StartAsync(topology, healthB, $$"""
            actorvpn.persistence { connection-string = "Host=127.0.0.1;Port={{FreePorts.Take()}};Database=actorvpn;Username=postgres;Timeout=2", key-secret = "s" }
            actorvpn.node.store-wait = 0s # start without it: readiness is what is checked here
            """, seed: a.Cluster.SelfAddress.ToString());
        Assert.Equal("PostgreSQL.15", b.Store.Store);

        var kit = new Akka.TestKit.Xunit2.TestKit(a.System);
        await kit.AwaitAssertAsync(() => Assert.Equal(2, a.Cluster.State.Members.Count(m => m.Status == MemberStatus.Up)), Generous, TimeSpan.FromMilliseconds(200));
        await kit.AwaitAssertAsync(async () => Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{healthA}{HealthPaths.Ready}")).StatusCode),
            Generous, TimeSpan.FromMilliseconds(200));
        Assert.True(await a.IsReadyAsync());

        // B has joined (Up) but its store does not answer: live, not ready.
        await kit.AwaitAssertAsync(() => Assert.Equal(MemberStatus.Up, b.Cluster.SelfMember.Status), Generous, TimeSpan.FromMilliseconds(200)); // its own view lags a's
        Assert.False(await b.IsReadyAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync($"http://127.0.0.1:{healthB}{HealthPaths.Ready}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{healthB}{HealthPaths.Live}")).StatusCode);

        // proxy1 binds 127.0.0.1 but advertises the configured host, in what its auth server vouches for too.
        var address = HostPort.Parse(await a.ProxyAddressAsync("proxy1", Generous));
        Assert.Equal("localhost", address.Host);
        Assert.NotEqual(0, address.Port);
    }

    [Fact]
    public async Task Only_a_node_that_hosts_a_group_needs_the_key_secret()
    {
        // Signing keys live with the auth-server groups; a proxy-only node (an internet-facing pod) holds none, so it is not given the secret.
        var topology = ClusterFailoverTests.Topology(new HostPort("127.0.0.1", 9));
        var store = $"actorvpn.persistence.connection-string = \"Host=127.0.0.1;Port={FreePorts.Take()};Database=actorvpn;Username=postgres;Timeout=2\"\nactorvpn.node.store-wait = 0s";
        var proxyOnly = await StartAsync(topology, FreePorts.Take(), store + "\nactorvpn.node { groups = [], proxies = [proxy1] }", seed: null);
        Assert.Equal("PostgreSQL.15", proxyOnly.Store.Store);

        var e = await Assert.ThrowsAsync<ConfigurationException>(() => StartAsync(topology, FreePorts.Take(), store + "\nactorvpn.node { groups = [as1], proxies = [] }", seed: null));
        Assert.Contains("AVPN_KEY_SECRET", e.Message, StringComparison.Ordinal);
    }

    private async Task<ClusterNode> StartAsync(TopologyModel topology, int healthPort, string extra, string? seed)
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
            actorvpn.node.health { hostname = "127.0.0.1", port = {{healthPort}} }
            {{extra}}
            """);
        var node = await ClusterNode.StartAsync(ClusterNode.LoadConfig(overrides: overrides, environment: _ => null), topology, environment: _ => null);
        _nodes.Add(node);
        return node;
    }
}
