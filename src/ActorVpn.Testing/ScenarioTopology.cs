using ActorVpn.Demo;
using ActorVpn.Topology;

namespace ActorVpn.Testing;

/// <summary>
/// A scenario's topology as it runs on one machine: every destination an echo server of its own on loopback, every
/// proxy on an ephemeral loopback port.
/// </summary>
public static class ScenarioTopology
{
    /// <summary>Reads <paramref name="topologyText"/> and starts an echo server for each of its destinations.</summary>
    public static (TopologyModel Topology, Dictionary<string, EchoServer> Destinations) WithEchoDestinations(string topologyText, string label)
    {
        var declared = TopologyLoader.LoadText(topologyText, label);
        var destinations = declared.Destinations.Keys.ToDictionary(d => d, _ => new EchoServer(new HostPort("127.0.0.1", 0)), StringComparer.Ordinal);
        var topology = new TopologyModel(declared.Source,
            destinations.ToDictionary(d => d.Key, d => d.Value.Address, StringComparer.Ordinal),
            declared.AuthServers,
            declared.Proxies.Select(p => p with { Listen = new HostPort("127.0.0.1", 0) }).ToList(),
            declared.Users);
        return (topology, destinations);
    }
}
