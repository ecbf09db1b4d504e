using ActorVpn.Topology;

namespace ActorVpn.AuthServers.State;

/// <summary>Where a hand-off goes next from one auth server, per Figs. 2 and 4.</summary>
public abstract record NextHop
{
    /// <summary>Fig. 2 "End": this server's relay proxy talks to the destination directly.</summary>
    public sealed record End : NextHop;

    /// <summary>Fig. 2 names the next auth server.</summary>
    public sealed record Route(string AuthServer) : NextHop;

    /// <summary>Steps 803 / 903-904: no Fig. 2 entry, so the upper auth server (Fig. 4) is next (【0054】).</summary>
    public sealed record Escalate(string UpperServer) : NextHop;

    /// <summary>No entry and no upper server: the hand-off fails with <c>no-route</c>.</summary>
    public sealed record None : NextHop;
}

/// <summary>The Fig. 2, 3 and 4 tables of one auth server: pure look-ups, no state.</summary>
public sealed class RelayTables(AuthServerSpec spec, TopologyModel topology)
{
    public string Name => spec.Name;

    /// <summary>Fig. 2 (steps 802 / 902), falling back to Fig. 4 (steps 803 / 903-904).</summary>
    public NextHop NextFor(string destination) => spec.Routes.TryGetValue(destination, out var target)
        ? target switch
        {
            RouteTarget.End => new NextHop.End(),
            RouteTarget.Next next => new NextHop.Route(next.AuthServer),
            _ => throw new InvalidOperationException($"unknown route target {target}"),
        }
        : spec.Parent is { } parent ? new NextHop.Escalate(parent) : new NextHop.None();

    /// <summary>Fig. 3: the proxy this server manages that relays <paramref name="destination"/>, if any.</summary>
    public ProxySpec? RelayProxyFor(string destination) =>
        spec.Relays.TryGetValue(destination, out var proxy) ? topology.Proxy(proxy) : null;

    public bool KnowsDestination(string destination) => topology.Destinations.ContainsKey(destination);

    public string DestinationAddress(string destination) => topology.Destinations[destination].ToString();

    public IReadOnlyList<AuthServerSpec> Members => topology.MembersOf(spec.Name);
}
