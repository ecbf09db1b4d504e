using System.Collections.Concurrent;
using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;

namespace ActorVpn.Messaging;

/// <summary>
/// The one serializer for every <see cref="IActorVpnMessage"/>: JSON (System.Text.Json) with the
/// type's short persisted manifest (<see cref="PersistedManifests"/>) when it has one, else its CLR
/// name. Both are read, so journals written before the short manifests existed stay readable. Only
/// types that implement the marker can be named by a manifest, so a peer cannot make this node
/// instantiate arbitrary types.
/// </summary>
public sealed class ActorVpnSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        IncludeFields = false,
        MaxDepth = 32,
    };

    private static readonly ConcurrentDictionary<string, Type> Types = new(StringComparer.Ordinal);

    public override int Identifier => 4711;

    public override string Manifest(object o) => PersistedManifests.Of(o.GetType()) ?? WireNameAttribute.Of(o.GetType()) ?? ManifestOf(o.GetType());

    public static string ManifestOf(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);

    public override object FromBinary(byte[] bytes, string manifest) =>
        JsonSerializer.Deserialize(bytes, Resolve(manifest), Options)
        ?? throw new SerializationException($"'{manifest}' deserialized to null");

    private static Type Resolve(string manifest) => Types.GetOrAdd(manifest, static m =>
    {
        var type = PersistedManifests.TypeOf(m) ?? Type.GetType(m, throwOnError: false) ?? WireNameAttribute.TypeOf(m);
        return type is not null && typeof(IActorVpnMessage).IsAssignableFrom(type) && !type.IsAbstract
            ? type
            : throw new SerializationException($"'{m}' is not an ActorVpn message type");
    });
}
