using ActorVpn.Messaging;

namespace ActorVpn.Protocol;

/// <summary>A relay proxy on the route, as vouched for by the auth server that manages it (Fig. 3).</summary>
/// <param name="Pin">base64 SHA-256 of the proxy certificate's SPKI, issued by <paramref name="AuthServer"/>;
/// never null from an auth server, which puts no proxy that has not enrolled on a route (Fig. 9 step 910: it fails
/// the hand-off with <c>unreachable</c> instead); a client still refuses a hop without one.</param>
[WireName("ActorVpn.AuthServers.HandOff", "ActorVpn.AuthServers")]
public sealed record RouteEntry(string Proxy, string AuthServer, string Address, string? Pin) : IActorVpnMessage;
