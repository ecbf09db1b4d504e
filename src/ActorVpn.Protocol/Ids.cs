using System.Text.Json;
using System.Text.Json.Serialization;

namespace ActorVpn.Protocol;

/// <summary>
/// One hand-off, from its home server's step 802 to the last relay proxy (Fig. 8): the key of everything the servers on its
/// path hold for it. Serialized as the bare string it replaces, so messages and stores written before it read the same.
/// </summary>
[JsonConverter(typeof(HandOffIdJson))]
public readonly record struct HandOffId(string Value)
{
    public override string ToString() => Value;

    private sealed class HandOffIdJson : JsonConverter<HandOffId>
    {
        public override HandOffId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(reader.GetString() ?? throw new JsonException("a hand-off id is a string"));

        public override void Write(Utf8JsonWriter writer, HandOffId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
    }
}

/// <summary>
/// A user registered at its home server, the subject of certificate 1 (【0012】). Serialized as the bare string it replaces,
/// so messages and stores written before it read the same.
/// </summary>
[JsonConverter(typeof(UserNameJson))]
public readonly record struct UserName(string Value)
{
    public override string ToString() => Value;

    private sealed class UserNameJson : JsonConverter<UserName>
    {
        public override UserName Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(reader.GetString() ?? throw new JsonException("a user name is a string"));

        public override void Write(Utf8JsonWriter writer, UserName value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
    }
}
