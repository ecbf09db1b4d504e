using System.Text.Json;
using System.Text.Json.Serialization;

namespace ActorVpn.Protocol;

/// <summary>
/// One hand-off, from its home server's step 802 to the last relay proxy (Fig. 8): the key of everything the servers on its
/// path hold for it. Serialized as the bare string it replaces, so messages and stores written before it read the same.
/// </summary>
[JsonConverter(typeof(StringIdJson<HandOffId>))]
public readonly record struct HandOffId(string Value) : IStringId<HandOffId>
{
    public static HandOffId From(string value) => new(value);

    public override string ToString() => Value;
}

/// <summary>
/// A user registered at its home server, the subject of certificate 1 (【0012】). Serialized as the bare string it replaces,
/// so messages and stores written before it read the same.
/// </summary>
[JsonConverter(typeof(StringIdJson<UserName>))]
public readonly record struct UserName(string Value) : IStringId<UserName>
{
    public static UserName From(string value) => new(value);

    public override string ToString() => Value;
}

/// <summary>An id that is a string with a type of its own, so it cannot be passed where another id is expected.</summary>
public interface IStringId<TSelf>
    where TSelf : struct, IStringId<TSelf>
{
    string Value { get; }

    static abstract TSelf From(string value);
}

/// <summary>Writes a typed id as its bare string and reads it back, so the typed id changes no serialized byte.</summary>
public sealed class StringIdJson<TId> : JsonConverter<TId>
    where TId : struct, IStringId<TId>
{
    public override TId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        TId.From(reader.GetString() ?? throw new JsonException($"a {typeof(TId).Name} is a string"));

    public override void Write(Utf8JsonWriter writer, TId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}
