using Xunit;

namespace ActorVpn.Topology.Tests;

/// <summary>Small topology files for the loader tests: the patent's example with one part swapped.</summary>
internal static class TopologyText
{
    public const string Source = "test.hocon";

    public const string Destinations = """destinations { server = "127.0.0.1:9000" }""";

    public const string AuthServers = """
        auth-servers {
          as1 { routes { server = as2 }, relays { server = proxy1 } }
          as2 { parent = as4, relays { server = proxy2 }, trusts = [as1] }
          as3 { parent = as4, routes { server = end }, relays { server = proxy3 }, trusts = [as4] }
          as4 { routes { server = as3 }, trusts = [as2] }
        }
        """;

    public const string Proxies = """
        proxies {
          proxy1 { auth-server = as1, listen = "127.0.0.1:7101" }
          proxy2 { auth-server = as2, listen = "127.0.0.1:7102" }
          proxy3 { auth-server = as3, listen = "127.0.0.1:7103" }
        }
        """;

    public const string Users = "users { alice { auth-server = as1 } }";

    public static string Build(string? destinations = null, string? authServers = null, string? proxies = null, string? users = null) => $$"""
        actorvpn.topology {
          {{destinations ?? Destinations}}
          {{authServers ?? AuthServers}}
          {{proxies ?? Proxies}}
          {{users ?? Users}}
        }
        """;

    /// <summary>Loads <paramref name="text"/> expecting failure and returns every problem reported.</summary>
    public static IReadOnlyList<TopologyException> Problems(string text)
    {
        var error = Assert.Throws<TopologyException>(() => TopologyLoader.LoadText(text, Source));
        Assert.All(error.Problems, p => Assert.Equal(Source, p.File));
        Assert.All(error.Problems, p => Assert.StartsWith($"{Source}: {p.Path}: ", p.Message, StringComparison.Ordinal));
        Assert.DoesNotContain(error.Problems, p => p.Message.Contains("   at ", StringComparison.Ordinal));
        return error.Problems;
    }

    /// <summary>The one problem of a file that has exactly one.</summary>
    public static TopologyException Single(string text) => Assert.Single(Problems(text));
}
