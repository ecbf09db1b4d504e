using ActorVpn.Messaging;

namespace ActorVpn.Protocol;

/// <summary>Release whatever is held or pending for a hand-off (【0053】); forwarded down the chain.</summary>
/// <param name="RevokedUser">Set when the hand-off ends because its user was revoked at the home server: a hop that still
/// comes for it is refused with certificate-revoked.</param>
[WireName("ActorVpn.AuthServers", "ActorVpn.AuthServers")]
public sealed record ReleaseHandOff(string HandOffId, string? RevokedUser = null) : IActorVpnMessage;
