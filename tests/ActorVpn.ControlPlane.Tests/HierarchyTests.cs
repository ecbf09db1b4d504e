using System.Text;
using ActorVpn.AuthServers;
using ActorVpn.Protocol;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>Topologies the example does not show: deep groups (Fig. 4 nests), escalating homes, several destinations, long chains.</summary>
public sealed class HierarchyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Hand_off_climbs_three_levels_of_upper_servers_to_the_group_that_holds_the_route()
    {
        // m1 -> g1 -> g2 -> top: each level has no entry and escalates; top routes to the exit server.
        using var p = await TestPlane.StartAsync(output, """
            actorvpn.topology {
              destinations { server = "127.0.0.1:9000" }
              auth-servers {
                home { routes { server = m1 }, relays { server = p-home } }
                m1   { parent = g1, relays { server = p-m1 }, trusts = [home] }
                g1   { parent = g2, trusts = [m1] }
                g2   { parent = top, relays { server = p-g2 }, trusts = [g1] }
                top  { routes { server = exit }, trusts = [g2] }
                exit { parent = top, routes { server = end }, relays { server = p-exit }, trusts = [top] }
              }
              proxies {
                p-home { auth-server = home, listen = "127.0.0.1:7201" }
                p-m1   { auth-server = m1,   listen = "127.0.0.1:7202" }
                p-g2   { auth-server = g2,   listen = "127.0.0.1:7203" }
                p-exit { auth-server = exit, listen = "127.0.0.1:7204" }
              }
              users { carol { auth-server = home } }
            }
            """);
        var result = await p.TraceAsync("carol", "server");

        Assert.True(result.Ok, result.Error?.ToString());
        Assert.Equal(["home", "m1", "g1", "g2", "top", "exit"], result.HandOff);
        Assert.Equal(["p-home", "p-m1", "p-g2", "p-exit"], result.Route);
        Assert.Equal(["m1", "g2", "exit"], result.Holders);
        Assert.Equal(["m1", "g1", "g2"], result.Steps.Where(s => s.Step == PatentStep.Fig9Escalate903).Select(s => s.AuthServer));
        // On the reply path (step 910), deepest first.
        Assert.Equal(["top", "g1"], result.Steps.Where(s => s.Step == PatentStep.DiscardNoRelay0036).Select(s => s.AuthServer));

        // The actor tree follows Fig. 4: a member is a child of its upper server.
        var m1 = await p.Sys.ActorSelection($"/user/{AuthServersGuardian.Name}/top/g2/g1/m1").ResolveOne(TestPlane.Patience);
        Assert.Equal(await p.RefOf("m1"), m1);
        Assert.Equal("/user/auth-servers/top/g2/g1/m1", AuthServersGuardian.PathOf(p.Topology, "m1"));
    }

    [Fact]
    public async Task Home_server_without_an_entry_escalates_to_its_upper_server()
    {
        using var p = await TestPlane.StartAsync(output, """
            actorvpn.topology {
              destinations { server = "127.0.0.1:9000" }
              auth-servers {
                home { parent = up, relays { server = p-home } }
                up   { routes { server = exit }, trusts = [home] }
                exit { routes { server = end }, relays { server = p-exit }, trusts = [up] }
              }
              proxies {
                p-home { auth-server = home, listen = "127.0.0.1:7301" }
                p-exit { auth-server = exit, listen = "127.0.0.1:7302" }
              }
              users { dave { auth-server = home } }
            }
            """);
        var result = await p.TraceAsync("dave", "server");

        Assert.True(result.Ok, result.Error?.ToString());
        Assert.Equal(["home", "up", "exit"], result.HandOff);
        Assert.Equal(["p-home", "p-exit"], result.Route);
        Assert.Equal(["exit"], result.Holders);
        var escalation = Assert.Single(result.Steps, s => s.Step == PatentStep.Fig8Escalate803);
        Assert.Equal("home", escalation.AuthServer);
        Assert.Contains("up", escalation.Detail, StringComparison.Ordinal);
    }

    private const string TwoDestinations = """
        actorvpn.topology {
          destinations {
            web = "127.0.0.1:9080"
            db  = "127.0.0.1:9543"
          }
          auth-servers {
            as1 { routes { web = as2, db = as3 }, relays { web = proxy1, db = proxy1 } }
            as2 { routes { web = end }, relays { web = proxy2 }, trusts = [as1] }
            as3 { routes { db = as4 }, relays { db = proxy3 }, trusts = [as1] }
            as4 { routes { db = end }, relays { db = proxy4 }, trusts = [as3] }
          }
          proxies {
            proxy1 { auth-server = as1, listen = "127.0.0.1:7401" }
            proxy2 { auth-server = as2, listen = "127.0.0.1:7402" }
            proxy3 { auth-server = as3, listen = "127.0.0.1:7403" }
            proxy4 { auth-server = as4, listen = "127.0.0.1:7404" }
          }
          users { erin { auth-server = as1 } }
        }
        """;

    [Fact]
    public async Task Several_destinations_take_their_own_routes()
    {
        using var p = await TestPlane.StartAsync(output, TwoDestinations);
        var erin = await p.RegisterAsync("erin", "as1");

        var web = await p.TraceAsync("erin", "web", erin);
        Assert.True(web.Ok, web.Error?.ToString());
        Assert.Equal(["as1", "as2"], web.HandOff);
        Assert.Equal(["proxy1", "proxy2"], web.Route);

        var db = await p.TraceAsync("erin", "db", erin);
        Assert.True(db.Ok, db.Error?.ToString());
        Assert.Equal(["as1", "as3", "as4"], db.HandOff);
        Assert.Equal(["proxy1", "proxy3", "proxy4"], db.Route);
        Assert.Equal(["as3", "as4"], db.Holders);

        // Each exit proxy is told its own destination only.
        var webOk = await p.EnterOkAsync(erin, "web");
        var exit = Assert.IsType<ClientAuthenticated>(await p.AuthenticateAsync("proxy2", erin.CertificateDer, "web", webOk.HandOffId));
        Assert.Equal("127.0.0.1:9080", exit.DestinationAddress);
    }

    [Fact]
    public async Task Certificate_handed_off_for_one_destination_is_refused_for_another()
    {
        using var p = await TestPlane.StartAsync(output, TwoDestinations);
        var erin = await p.RegisterAsync("erin", "as1");
        var db = await p.EnterOkAsync(erin, "db");

        var refused = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy3", erin.CertificateDer, "web", db.HandOffId));
        Assert.Equal("as3", refused.Error.At);
        Assert.Contains("for 'db'", refused.Error.Message, StringComparison.Ordinal);
        Assert.Single((await p.StatusAsync("as3")).Held);
    }

    [Fact]
    public async Task Chain_of_32_auth_servers_hands_off_end_to_end()
    {
        const int hops = 32;
        var text = new StringBuilder("actorvpn.topology {\n  destinations { far = \"127.0.0.1:9999\" }\n  auth-servers {\n");
        for (var i = 1; i <= hops; i++)
        {
            var target = i == hops ? "end" : $"s{i + 1}";
            var trusts = i == 1 ? string.Empty : $", trusts = [s{i - 1}]";
            text.Append($"    s{i} {{ routes {{ far = {target} }}, relays {{ far = p{i} }}{trusts} }}\n");
        }

        text.Append("  }\n  proxies {\n");
        for (var i = 1; i <= hops; i++)
        {
            text.Append($"    p{i} {{ auth-server = s{i}, listen = \"127.0.0.1:{8000 + i}\" }}\n");
        }

        text.Append("  }\n  users { frank { auth-server = s1 } }\n}\n");
        using var p = await TestPlane.StartAsync(output, text.ToString(), config: "actorvpn.auth-server.handoff-timeout = 30s");
        var result = await p.TraceAsync("frank", "far");

        Assert.True(result.Ok, result.Error?.ToString());
        Assert.Equal(Enumerable.Range(1, hops).Select(i => $"p{i}"), result.Route);
        Assert.Equal(Enumerable.Range(1, hops).Select(i => $"s{i}"), result.HandOff);
        Assert.Equal(Enumerable.Range(2, hops - 1).Select(i => $"s{i}"), result.Holders);

        // The client can walk the whole chain hop by hop with the one certificate.
        var frank = await p.RegisterAsync("frank", "s1");
        var entry = await p.EnterOkAsync(frank, "far");
        Assert.Equal(hops - 1, entry.Route.Count);
        var next = entry.NextHop;
        for (var i = 2; i <= hops; i++)
        {
            Assert.Equal($"p{i}", next?.Proxy);
            var hop = Assert.IsType<ClientAuthenticated>(await p.AuthenticateAsync(next!.Proxy, frank.CertificateDer, "far", entry.HandOffId));
            next = hop.NextHop;
            if (i == hops)
            {
                Assert.Null(next);
                Assert.Equal("127.0.0.1:9999", hop.DestinationAddress);
            }
        }
    }
}
