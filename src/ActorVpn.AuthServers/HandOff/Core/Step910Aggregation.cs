using System.Collections.Immutable;
using ActorVpn.AuthServers.State;
using ActorVpn.Protocol;
using static ActorVpn.Protocol.HandOffProtocol;

namespace ActorVpn.AuthServers.HandOff.Core;

/// <summary>What a relay server does with the route the server it called returned (Fig. 9, step 910).</summary>
public abstract record Aggregation
{
    /// <summary>【0036】: no relay proxy here for the destination: certificate 1 is discarded and the route returned as it came.</summary>
    public sealed record PassOn(HandOffRouted Reply, IssuedRoute Forwarded, StepReached Discard, StepReached Returned) : Aggregation;

    /// <summary>This server's relay proxy is prepended and certificate 1 held until the client comes.</summary>
    public sealed record Prepend(HandOffRouted Reply, HeldCertificate Held, StepReached Returned) : Aggregation;

    /// <summary>The relay proxy has not enrolled, so this server vouches for none: the hand-off fails, and the servers further on release.</summary>
    public sealed record Refused(Refusal Refusal, IReadOnlyList<string> Release) : Aggregation;
}

/// <summary>The certificate 1 a relay server handed on: what step 910 needs to hold it.</summary>
public sealed record HandedOn(string HandOffId, byte[] CertificateDer, string User, string Destination, IReadOnlyList<string> Path);

/// <summary>
/// Fig. 9, step 910: on the reply path each relay server puts its own relay proxy (Fig. 3) in front of the route the next
/// server returned, and itself in front of the holders, so the route reaches the home server in route order.
/// </summary>
public static class Step910Aggregation
{
    public static Aggregation Aggregate(RelayTables tables, ImmutableSortedDictionary<string, ProxyEnrolled> enrolled, HandedOn handedOn,
        HandOffRouted routed, DateTimeOffset now, TimeSpan holdTimeout)
    {
        var me = tables.Name;
        var relay = tables.RelayProxyFor(handedOn.Destination);
        if (relay is null)
        {
            return new Aggregation.PassOn(routed, new IssuedRoute(routed.Holders, now + holdTimeout),
                new StepReached(PatentStep.DiscardNoRelay0036, "no relay proxy here: certificate 1 discarded"),
                new StepReached(PatentStep.Fig9ReturnRoute910, $"route [{Proxies(routed.Route)}] (nothing added)"));
        }

        var path = routed.Path.Count > 0 ? routed.Path : handedOn.Path;
        if (!enrolled.TryGetValue(relay.Name, out var identity))
        {
            return new Aggregation.Refused(new Refusal(ErrorCodes.Unreachable, PatentStep.Fig9ReturnRoute910,
                $"{relay.Name} has not enrolled with {me} (not started, or not yet reached {me}): {me} has no identity of it to vouch for, so it puts it on no route",
                path), routed.Holders);
        }

        // The server vouches for its relay proxy with the pin of the identity it issued, where the proxy said it listens.
        var route = routed.Route.Prepend(new RouteEntry(relay.Name, me, identity.ListenAddress ?? relay.Listen.ToString(), identity.Pin)).ToList();
        var holders = routed.Holders.Prepend(me).ToList();
        var held = new HeldCertificate(handedOn.HandOffId, handedOn.CertificateDer, handedOn.User, handedOn.Destination, relay.Name,
            route, path, holders, now, now + holdTimeout);
        return new Aggregation.Prepend(new HandOffRouted(route, path, holders), held,
            new StepReached(PatentStep.Fig9ReturnRoute910, $"prepended {relay.Name}: route [{Proxies(route)}]; holding certificate 1"));
    }

    public static string Proxies(IEnumerable<RouteEntry> route) => string.Join(", ", route.Select(r => r.Proxy));
}
