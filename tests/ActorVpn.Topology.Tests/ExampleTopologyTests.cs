using Xunit;

namespace ActorVpn.Topology.Tests;

/// <summary>The patent's example (Figs. 1-4) as hocon/topology.example.hocon describes it.</summary>
public sealed class ExampleTopologyTests
{
    private static readonly TopologyModel Example = ExampleTopology.Load();

    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(relative);
    }

    [Fact]
    public void Example_has_four_auth_servers_three_proxies_and_one_destination()
    {
        Assert.Equal(["as1", "as2", "as3", "as4"], Example.AuthServers.Select(a => a.Name).Order());
        Assert.Equal(["proxy1", "proxy2", "proxy3"], Example.Proxies.Select(p => p.Name).Order());
        Assert.Equal(new HostPort("127.0.0.1", 9000), Assert.Single(Example.Destinations, d => d.Key == "server").Value);
        var alice = Assert.Single(Example.Users);
        Assert.Equal(new UserSpec("alice", "as1"), alice);
    }

    [Fact]
    public void Example_relay_routes_are_those_of_fig_2()
    {
        Assert.Equal(new RouteTarget.Next("as2"), Example.AuthServer("as1").Routes["server"]);
        Assert.Empty(Example.AuthServer("as2").Routes);
        Assert.Equal(RouteTarget.End.Instance, Example.AuthServer("as3").Routes["server"]);
        Assert.Equal(new RouteTarget.Next("as3"), Example.AuthServer("as4").Routes["server"]);
    }

    [Fact]
    public void Example_relay_proxies_are_those_of_fig_3()
    {
        Assert.Equal("proxy1", Example.AuthServer("as1").Relays["server"]);
        Assert.Equal("proxy2", Example.AuthServer("as2").Relays["server"]);
        Assert.Equal("proxy3", Example.AuthServer("as3").Relays["server"]);
        Assert.Empty(Example.AuthServer("as4").Relays);
        Assert.Equal("as1", Example.Proxy("proxy1").AuthServer);
        Assert.Equal("as2", Example.Proxy("proxy2").AuthServer);
        Assert.Equal("as3", Example.Proxy("proxy3").AuthServer);
    }

    [Fact]
    public void Example_upper_servers_are_those_of_fig_4()
    {
        Assert.Null(Example.AuthServer("as1").Parent);
        Assert.Equal("as4", Example.AuthServer("as2").Parent);
        Assert.Equal("as4", Example.AuthServer("as3").Parent);
        Assert.Null(Example.AuthServer("as4").Parent);
        Assert.Equal(["as1", "as4"], Example.Roots.Select(r => r.Name).Order());
        Assert.Equal(["as2", "as3"], Example.MembersOf("as4").Select(m => m.Name).Order());
        Assert.Equal(["as4", "as2"], Example.LineageOf("as2"));
    }

    [Fact]
    public void Example_trusts_let_each_caller_call_the_next_server()
    {
        // 【0023】: AS1 holds a credential of AS2, AS2 one of AS4, AS4 one of AS3.
        Assert.Empty(Example.AuthServer("as1").Trusts);
        Assert.Equal(["as1"], Example.AuthServer("as2").Trusts);
        Assert.Equal(["as4"], Example.AuthServer("as3").Trusts);
        Assert.Equal(["as2"], Example.AuthServer("as4").Trusts);
    }

    [Fact]
    public void Example_file_in_the_repository_is_the_embedded_default()
    {
        var path = RepoFile(Path.Combine("hocon", "topology.example.hocon"));
        var fromFile = TopologyLoader.LoadFile(path);
        Assert.Equal(path, fromFile.Source);
        Assert.Equal(TopologyLoader.ToHocon(Example), TopologyLoader.ToHocon(fromFile));
        Assert.Equal(ExampleTopology.SourceName, ExampleTopology.LoadOrDefault(null).Source);
        Assert.Equal(path, ExampleTopology.LoadOrDefault(path).Source);
    }

    [Fact]
    public void A_model_rendered_back_to_hocon_loads_to_the_same_model()
    {
        var again = TopologyLoader.LoadText(TopologyLoader.ToHocon(Example), "rendered.hocon");
        Assert.Equal(TopologyLoader.ToHocon(Example), TopologyLoader.ToHocon(again));
    }

    [Fact]
    public void Contract_example_with_commas_after_objects_parses()
    {
        // The documented example verbatim: `as2 { parent = as4, relays { server = proxy2 }, trusts = [as1] }`.
        var model = TopologyLoader.LoadText(TopologyText.Build(), TopologyText.Source);
        var as2 = model.AuthServer("as2");
        Assert.Equal("as4", as2.Parent);
        Assert.Equal("proxy2", as2.Relays["server"]);
        Assert.Equal(["as1"], as2.Trusts);
        var as3 = model.AuthServer("as3");
        Assert.Equal(RouteTarget.End.Instance, as3.Routes["server"]);
        Assert.Equal(["as4"], as3.Trusts);
    }
}
