using System.Security.Cryptography;
using ActorVpn.Hosting;
using ActorVpn.Testing;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.TestKit;
using Xunit;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Cluster.Tests;

/// <summary>
/// Only the nodes allowed to administer the auth servers can (<see cref="AdminSenders"/>): a system that
/// reaches port 4053 without being a member, or a member whose roles do not allow it, is refused and
/// the auth server logs the attempt.
/// </summary>
public sealed class AdminSendersTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private readonly List<ClusterNode> _nodes = [];
    private ActorSystem? _foreign;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_foreign is not null)
        {
            await _foreign.Terminate();
        }

        foreach (var node in _nodes.AsEnumerable().Reverse())
        {
            await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_foreign_system_that_reaches_the_port_cannot_register_a_user_or_enrol_a_proxy_and_the_attempt_is_logged()
    {
        var topology = ClusterFailoverTests.Topology(new HostPort("127.0.0.1", 9));
        var node = await StartAsync(topology, "groups = [as1, as4]", seed: null);
        node.Cluster.Join(node.Cluster.SelfAddress);
        await node.Routes["as1"].Ask<AuthServerIdentity>(GetIdentity.Instance, Generous);
        var warnings = new TestProbe(node.System, new Akka.TestKit.Xunit2.XunitAssertions());
        node.System.EventStream.Subscribe(warnings.Ref, typeof(Akka.Event.Warning));

        // A system of its own (not a member), speaking the ActorVpn protocol to the auth server's path.
        _foreign = ActorSystem.Create("foreign", ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.loglevel = WARNING
            """).WithFallback(ConfigurationFactory.ParseString(HoconLayers.Text(HoconLayers.Akka))));
        var as1 = _foreign.ActorSelection($"{node.Cluster.SelfAddress}{GroupPlacement.PathOf(topology, "as1")}");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var spki = key.ExportSubjectPublicKeyInfo();

        var register = await as1.Ask<object>(new RegisterUser("mallory", spki, "foreign"), Generous);
        Assert.Contains("not a member of the cluster", Assert.IsType<AdminRefused>(register).Reason);
        await warnings.FishForMessageAsync<Akka.Event.Warning>(w => w.Message.ToString()!.Contains("refused RegisterUser", StringComparison.Ordinal), Generous);

        var enrol = await as1.Ask<object>(new EnrollProxy("proxy1", spki, "198.18.0.66:7101"), Generous);
        Assert.IsType<AdminRefused>(enrol);
        await warnings.FishForMessageAsync<Akka.Event.Warning>(w => w.Message.ToString()!.Contains("refused EnrollProxy", StringComparison.Ordinal), Generous);

        // Without a reply address (the node would otherwise take it for one of its own).
        as1.Tell(new RegisterUser("mallory", spki, "foreign"), ActorRefs.NoSender);
        await warnings.FishForMessageAsync<Akka.Event.Warning>(w => w.Message.ToString()!.Contains("no reply address", StringComparison.Ordinal), Generous);

        Assert.IsType<AdminRefused>(await node.Routes["as1"].Ask<object>(new FindUser("mallory"), Generous));
        var status = await node.Routes["as1"].Ask<AuthServerStatus>(GetStatus.Instance, Generous);
        Assert.DoesNotContain("proxy1", status.ProxyPins.Keys);

        // A member that joined with the proxy role only may not register users either; this node itself may.
        var proxyNode = await StartAsync(topology, "groups = [], proxies = []\nakka.cluster.roles = [proxy]", node.Cluster.SelfAddress.ToString());
        await new Akka.TestKit.Xunit2.TestKit(node.System).AwaitAssertAsync(
            () => Assert.Equal(2, node.Cluster.State.Members.Count(m => m.Status == MemberStatus.Up)), Generous, TimeSpan.FromMilliseconds(200));
        var fromProxyNode = await proxyNode.System.ActorSelection($"{node.Cluster.SelfAddress}{GroupPlacement.PathOf(topology, "as1")}")
            .Ask<object>(new RegisterUser("mallory", spki, "proxy node"), Generous);
        Assert.Contains("none of the roles allowed", Assert.IsType<AdminRefused>(fromProxyNode).Reason);
        Assert.IsType<UserCertificateIssued>(await node.Routes["as1"].Ask<object>(new RegisterUser("bob", spki, "operator"), Generous));
    }

    private async Task<ClusterNode> StartAsync(TopologyModel topology, string node, string? seed)
    {
        var overrides = ConfigurationFactory.ParseString($$"""
            {{ClusterScenario.FastClusterTimings}}
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.cluster.seed-nodes = [{{(seed is null ? string.Empty : $"\"{seed}\"")}}]
            actorvpn.node { health.port = 0, drain-period = 1s }
            actorvpn.node { {{node.Split('\n')[0]}} }
            {{string.Join('\n', node.Split('\n').Skip(1))}}
            """);
        var started = await ClusterNode.StartAsync(ClusterNode.LoadConfig(overrides: overrides, environment: _ => null), topology, environment: _ => null);
        _nodes.Add(started);
        return started;
    }
}
