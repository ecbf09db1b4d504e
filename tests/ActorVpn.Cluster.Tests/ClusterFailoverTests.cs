using System.Diagnostics;
using ActorVpn.Client;
using ActorVpn.Credentials;
using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.Testing;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Xunit;
using Xunit.Abstractions;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Cluster.Tests;

/// <summary>
/// Three cluster nodes (ActorSystems on loopback in this process) carry the patent's example system:
/// node1 hosts group as1 and proxy1; node2 hosts group as4 (members as2, as3); node3 may host as4
/// too and runs proxy2 and proxy3. So alice's hand-off crosses nodes (as1 -> as2 -> as4 -> as3 over
/// Akka.Remote) and every proxy's auth server but proxy1's lives on another node.
/// <para>
/// State across a fail-over: the nodes share one durable store, the real PostgreSQL that
/// scripts/test.sh starts (AVPN_TEST_POSTGRES; one fresh database per test) or a SQLite file, so the
/// group that comes back on node3 recovers its keys, the credentials it holds and its users; trust
/// distribution is not re-run.
/// </para>
/// </summary>
public sealed class ClusterFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private readonly string _journal = Path.Combine(Path.GetTempPath(), $"actorvpn-cluster-{Guid.NewGuid():N}.db");
    private string _store = "sqlite";
    private string? _postgres;
    private readonly List<ClusterNode> _nodes = [];
    private EchoServer? _echo;
    private Akka.TestKit.Xunit2.TestKit? _kit;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes.AsEnumerable().Reverse())
        {
            await node.DisposeAsync(); // one after another (toolchain.md)
        }

        if (_echo is not null)
        {
            await _echo.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(_journal);
    }

    [SkippableTheory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Patent_flow_crosses_nodes_and_survives_the_crash_of_the_node_hosting_a_group(string store)
    {
        _store = store;
        if (store == "postgres")
        {
            _postgres = await TestPostgres.CreateDatabaseAsync();
        }

        _echo = new EchoServer(new HostPort("127.0.0.1", 0));
        var topology = Topology(_echo.Address);

        // node1 first, as the seed; its group writes the journal's tables before anyone else starts.
        var node1 = await StartNodeAsync(topology, "as1", ["proxy1"], seed: null);
        var seed = node1.Cluster.SelfAddress.ToString();
        await node1.Routes["as1"].Ask<AuthServerIdentity>(GetIdentity.Instance, Generous);
        var node2 = await StartNodeAsync(topology, "as4", [], seed, crashable: true);
        await node2.Routes["as2"].Ask<AuthServerIdentity>(GetIdentity.Instance, Generous);
        var node3 = await StartNodeAsync(topology, "as4", ["proxy2", "proxy3"], seed);
        await AwaitUpMembersAsync(node1, 3);

        // Every node resolves every auth server, wherever it runs.
        foreach (var node in _nodes)
        {
            foreach (var server in topology.AuthServers)
            {
                var identity = await node.Routes[server.Name].Ask<AuthServerIdentity>(GetIdentity.Instance, Generous);
                Assert.Equal(server.Name, identity.Name);
            }
        }

        foreach (var node in _nodes)
        {
            await AwaitAssertAsync(async () => Assert.True(await node.IsReadyAsync(), "joined and the store answers: ready"));
        }

        var plane = await ControlPlane.AttachAsync(node1.System, topology, name => node1.Routes[name], Generous);
        var profile = await ProfileAsync(plane, topology, node1, "alice", "as1");
        var bob = await ProfileAsync(plane, topology, node3, "bob", "as2"); // registered in group as4, which will fail over
        await node3.ProxyAddressAsync("proxy3", Generous); // enrolled, so as3 can pin it in routes

        // Fig. 5: the chain through proxy1 (node1), proxy2 and proxy3 (node3), hand-off over node2.
        var route = await DialAndEchoAsync(profile);
        Assert.Equal(["proxy1", "proxy2", "proxy3"], route);
        Assert.Equal(["proxy2", "proxy3"], await DialAndEchoAsync(bob));

        // Crash node2 (no graceful leave): group as4 must come back on node3, with its keys and users.
        var keyBefore = (await node3.Routes["as2"].Ask<AuthServerIdentity>(GetIdentity.Instance, Generous)).PublicKeyInfo;
        var clock = Stopwatch.StartNew();
        await node2.System.Terminate();
        _nodes.Remove(node2);

        await AwaitAssertAsync(async () =>
        {
            var after = await DialAndEchoAsync(profile);
            Assert.Equal(["proxy1", "proxy2", "proxy3"], after);
        });
        var failover = clock.Elapsed;
        output.WriteLine($"fail-over: a new session worked {failover.TotalSeconds:F1} s after the node hosting group as4 crashed");

        var moved = await node3.Routes["as2"].Ask<AuthServerIdentity>(GetIdentity.Instance, Generous);
        Assert.Equal(Convert.ToBase64String(keyBefore), Convert.ToBase64String(moved.PublicKeyInfo)); // recovered, not re-keyed
        Assert.NotNull(await plane.FindUserAsync("bob", "as2"));                                          // its user came back with it
        Assert.Equal(["proxy2", "proxy3"], await DialAndEchoAsync(bob));                                   // with the profile issued before
        Assert.DoesNotContain(node3.Cluster.State.Members, m => m.Address.Equals(node2.Cluster.SelfAddress) && m.Status == MemberStatus.Up);
    }

    internal static TopologyModel Topology(HostPort destination)
    {
        var text = ExampleTopology.Text.Replace("127.0.0.1:9000", destination.ToString(), StringComparison.Ordinal);
        var topology = TopologyLoader.LoadText(text, "cluster test topology");
        return new TopologyModel(topology.Source, topology.Destinations, topology.AuthServers,
            topology.Proxies.Select(p => p with { Listen = new HostPort("127.0.0.1", 0) }).ToList(), topology.Users);
    }

    private async Task<ClusterNode> StartNodeAsync(TopologyModel topology, string group, IReadOnlyList<string> proxies, string? seed, bool crashable = false)
    {
        var overrides = ConfigurationFactory.ParseString($$"""
            {{ClusterScenario.FastClusterTimings}}
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.cluster.seed-nodes = [{{(seed is null ? string.Empty : $"\"{seed}\"")}}]
            # a crash: the node stops without leaving the cluster
            akka.coordinated-shutdown.run-by-actor-system-terminate = {{(crashable ? "off" : "on")}}
            actorvpn.node {
              groups = [{{group}}]
              proxies = [{{string.Join(", ", proxies)}}]
              health.port = 0
              drain-period = 1s
            }
            {{(_postgres is null ? JournalConfig(_journal) : PostgresConfig(_postgres))}}
            """);
        var node = await ClusterNode.StartAsync(ClusterNode.LoadConfig(overrides: overrides, environment: _ => null), topology, environment: _ => null);
        _nodes.Add(node);
        if (seed is null)
        {
            node.Cluster.Join(node.Cluster.SelfAddress);
        }

        return node;
    }

    /// <summary>Akka.Persistence.Sql on one SQLite file shared by the nodes (toolchain.md: the class lines are required).</summary>
    private static string JournalConfig(string file) => $$"""
        akka.persistence.journal {
          plugin = "akka.persistence.journal.sql"
          sql {
            class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
            connection-string = "Data Source={{file}};Default Timeout=30"
            provider-name = "SQLite.MS"
            auto-initialize = on
          }
        }
        akka.persistence.snapshot-store {
          plugin = "akka.persistence.snapshot-store.sql"
          sql {
            class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
            connection-string = "Data Source={{file}};Default Timeout=30"
            provider-name = "SQLite.MS"
            auto-initialize = on
          }
        }
        """;

    /// <summary>The production layer (hocon/persistence.postgres.hocon) selected by the connection string, as AVPN_POSTGRES does.</summary>
    private static string PostgresConfig(string connection) => $$"""
        actorvpn.persistence {
          connection-string = "{{connection}}"
          key-secret = "cluster-test-secret"
        }
        """;

    private async Task AwaitUpMembersAsync(ClusterNode node, int count) =>
        await AwaitAssertAsync(() =>
        {
            Assert.Equal(count, node.Cluster.State.Members.Count(m => m.Status == MemberStatus.Up));
            return Task.CompletedTask;
        });

    internal static async Task<ClientProfile> ProfileAsync(ControlPlane plane, TopologyModel topology, ClusterNode entryNode, string user, string home)
    {
        var enrollment = await plane.RegisterUserAsync(user, home);
        using var certificate = CertificateText.FromDer(enrollment.CertificateDer);
        using var anchor = CertificateText.FromDer(enrollment.TrustAnchorDer);
        var entries = new Dictionary<string, EntryProxy>(StringComparer.Ordinal);
        foreach (var (destination, proxy) in topology.AuthServer(home).Relays)
        {
            entries[destination] = new EntryProxy(proxy, await entryNode.ProxyAddressAsync(proxy, Generous));
        }

        return new ClientProfile(enrollment.User, enrollment.HomeServer, CertificateText.ToPem(certificate),
            CertificateText.PrivateKeyToPem(enrollment.PrivateKeyPkcs8), CertificateText.ToPem(anchor), entries);
    }

    internal static async Task<IReadOnlyList<string>> DialAndEchoAsync(ClientProfile profile)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var chain = await ChainDialer.BuildAsync(profile, "server", TimeSpan.FromSeconds(10), TimeProvider.System, deadline.Token);
        var payload = "across the cluster"u8.ToArray();
        await chain.Tls.WriteAsync(payload, deadline.Token);
        var echoed = new byte[payload.Length];
        await chain.Tls.ReadExactlyAsync(echoed, deadline.Token);
        Assert.Equal(payload, echoed);
        return chain.Route;
    }

    /// <summary>TestKit's AwaitAssert (retries until it passes) with a generous deadline; no sleeps.</summary>
    private async Task AwaitAssertAsync(Func<Task> assertion)
    {
        _kit ??= new Akka.TestKit.Xunit2.TestKit(_nodes[0].System);
        await _kit.AwaitAssertAsync(assertion, Generous, TimeSpan.FromMilliseconds(200));
    }
}
