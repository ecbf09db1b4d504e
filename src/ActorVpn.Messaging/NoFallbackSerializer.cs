using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace ActorVpn.Messaging;

/// <summary>
/// Stands in for Akka's default JSON serializer (<c>akka.actor.serializers.json</c>) on a cluster node
/// (hocon/remote.hocon): Newtonsoft with type names would let a peer have this node build objects of
/// types it chooses. With this in its place, an inbound message in Akka's JSON format finds no serializer
/// and is dropped, and an outbound message of a type without a binding fails loudly instead of falling back.
/// Every message that crosses nodes is an <see cref="IActorVpnMessage"/> (the ActorVpnSerializer) or one
/// of Akka's own protocol messages (their own serializers).
/// </summary>
public sealed class NoFallbackSerializer(ExtendedActorSystem system) : Serializer(system)
{
    /// <summary>The constructor Akka calls for the <c>json</c> entry, which has settings (<c>serialization-settings.json</c>); none apply.</summary>
    public NoFallbackSerializer(ExtendedActorSystem system, Config settings)
        : this(system)
    {
        _ = settings;
    }

    public override int Identifier => 4712;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        throw new SerializationException($"{obj.GetType()} has no serializer binding: a message that crosses nodes must be an ActorVpn message ({nameof(IActorVpnMessage)})");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new SerializationException("Akka's JSON fallback is off on this node: the message is refused");
}
