namespace ActorVpn.Messaging;

/// <summary>
/// Marker for every message that may cross a node boundary or be persisted. One serializer is
/// bound to it in hocon/serialization.hocon, and every implementing type has a round-trip test.
/// </summary>
public interface IActorVpnMessage;
