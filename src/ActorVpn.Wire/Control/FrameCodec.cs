using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ActorVpn.Observability.Tracing;

namespace ActorVpn.Wire;

/// <summary>
/// Length-prefixed, versioned framing of <see cref="ControlMessage"/>s:
/// <c>[version u8][type u8][length u32 big-endian][payload: UTF-8 JSON, camelCase]</c>.
/// Lengths are never trusted: the header is validated before anything is allocated for the payload,
/// and a reader takes exactly the header and then exactly the payload from the stream, never more
/// (after the last frame the same transport may carry a raw relay or a nested TLS session).
/// </summary>
public static class FrameCodec
{
    public const byte Version = 1;
    public const int HeaderSize = 6;
    public const int MaxPayload = 16 * 1024;

    /// <summary>Longest name-like field (proxy, destination, address, hand-off id, code, step, hop).</summary>
    public const int MaxNameLength = 256;

    /// <summary>Longest <see cref="Refused.Message"/>.</summary>
    public const int MaxMessageLength = 4096;

    /// <summary>Most hops in <see cref="AuthAccepted.Route"/>.</summary>
    public const int MaxRouteHops = 64;

    private const int PinBytes = 32;

    /// <summary>Writes the whole frame with one write, then flushes.</summary>
    /// <exception cref="FrameException">The message is invalid (it would be refused by the peer).</exception>
    public static async ValueTask WriteAsync(Stream stream, ControlMessage message, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var frame = Encode(message);
        await stream.WriteAsync(frame, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads exactly one frame: exactly <see cref="HeaderSize"/> bytes, then exactly the announced payload.
    /// </summary>
    /// <exception cref="FrameException">The frame is truncated, of another version, oversized, of an unknown type or malformed.</exception>
    /// <exception cref="IOException">The transport failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public static async ValueTask<ControlMessage> ReadAsync(Stream stream, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = new byte[HeaderSize];
        var got = await stream.ReadAtLeastAsync(header, HeaderSize, throwOnEndOfStream: false, ct).ConfigureAwait(false);
        if (got < HeaderSize)
        {
            throw new FrameException(
                FrameError.Truncated,
                got == 0 ? "the connection ended before a frame" : $"the connection ended inside a frame header ({got} of {HeaderSize} bytes)");
        }

        var (type, length) = ParseHeader(header);
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderSize + length);
        try
        {
            header.CopyTo(buffer, 0);
            var payload = buffer.AsMemory(HeaderSize, length);
            got = await stream.ReadAtLeastAsync(payload, length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            if (got < length)
            {
                throw new FrameException(FrameError.Truncated, $"the connection ended inside a frame payload ({got} of {length} bytes)");
            }

            return DecodePayload(type, buffer.AsSpan(HeaderSize, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Encodes a whole frame (header and payload).</summary>
    /// <exception cref="FrameException">The message is invalid or its payload exceeds <see cref="MaxPayload"/>.</exception>
    public static byte[] Encode(ControlMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Validate(message);
        var (type, payload) = message switch
        {
            AuthRequest m => (MessageType.AuthRequest, JsonSerializer.SerializeToUtf8Bytes(m, WireJsonContext.Default.AuthRequest)),
            AuthAccepted m => (MessageType.AuthAccepted, JsonSerializer.SerializeToUtf8Bytes(m, WireJsonContext.Default.AuthAccepted)),
            ConnectOnwards m => (MessageType.ConnectOnwards, JsonSerializer.SerializeToUtf8Bytes(m, WireJsonContext.Default.ConnectOnwards)),
            ConnectDestination m => (MessageType.ConnectDestination, JsonSerializer.SerializeToUtf8Bytes(m, WireJsonContext.Default.ConnectDestination)),
            Connected m => (MessageType.Connected, JsonSerializer.SerializeToUtf8Bytes(m, WireJsonContext.Default.Connected)),
            Refused m => (MessageType.Refused, JsonSerializer.SerializeToUtf8Bytes(m, WireJsonContext.Default.Refused)),
            _ => throw new FrameException(FrameError.UnknownType, $"{message.GetType().Name} is not a wire message"),
        };
        if (payload.Length > MaxPayload)
        {
            throw new FrameException(FrameError.Oversized, $"{message.GetType().Name} payload is {payload.Length} bytes, the limit is {MaxPayload}");
        }

        var frame = new byte[HeaderSize + payload.Length];
        frame[0] = Version;
        frame[1] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(2, 4), (uint)payload.Length);
        payload.CopyTo(frame, HeaderSize);
        return frame;
    }

    /// <summary>Decodes one whole frame (header and payload, nothing after it).</summary>
    /// <exception cref="FrameException">The frame is invalid.</exception>
    public static ControlMessage Decode(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < HeaderSize)
        {
            throw new FrameException(FrameError.Truncated, $"a frame header is {HeaderSize} bytes, got {frame.Length}");
        }

        var (type, length) = ParseHeader(frame[..HeaderSize]);
        var available = frame.Length - HeaderSize;
        if (available < length)
        {
            throw new FrameException(FrameError.Truncated, $"the frame announces {length} payload bytes, got {available}");
        }

        if (available > length)
        {
            throw new FrameException(FrameError.MalformedPayload, $"{available - length} bytes follow the frame");
        }

        return DecodePayload(type, frame.Slice(HeaderSize, length));
    }

    private static (MessageType Type, int Length) ParseHeader(ReadOnlySpan<byte> header)
    {
        if (header[0] != Version)
        {
            throw new FrameException(FrameError.UnsupportedVersion, $"frame version {header[0]} is not supported (expected {Version})");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header[2..HeaderSize]);
        if (length > MaxPayload)
        {
            throw new FrameException(FrameError.Oversized, $"the frame announces {length} payload bytes, the limit is {MaxPayload}");
        }

        var type = (MessageType)header[1];
        if (!Enum.IsDefined(type))
        {
            throw new FrameException(FrameError.UnknownType, $"frame type {header[1]} is unknown");
        }

        return (type, (int)length);
    }

    private static ControlMessage DecodePayload(MessageType type, ReadOnlySpan<byte> payload)
    {
        ControlMessage? message;
        try
        {
            message = type switch
            {
                MessageType.AuthRequest => Deserialize(payload, WireJsonContext.Default.AuthRequest),
                MessageType.AuthAccepted => Deserialize(payload, WireJsonContext.Default.AuthAccepted),
                MessageType.ConnectOnwards => Deserialize(payload, WireJsonContext.Default.ConnectOnwards),
                MessageType.ConnectDestination => Deserialize(payload, WireJsonContext.Default.ConnectDestination),
                MessageType.Connected => Deserialize(payload, WireJsonContext.Default.Connected),
                MessageType.Refused => Deserialize(payload, WireJsonContext.Default.Refused),
                _ => throw new FrameException(FrameError.UnknownType, $"frame type {(byte)type} is unknown"),
            };
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException or FormatException or InvalidCastException)
        {
            throw new FrameException(FrameError.MalformedPayload, $"{type} payload is not valid: {ex.Message}", ex);
        }

        if (message is null)
        {
            throw new FrameException(FrameError.MalformedPayload, $"{type} payload is null");
        }

        Validate(message);
        return message;
    }

    private static T? Deserialize<T>(ReadOnlySpan<byte> payload, JsonTypeInfo<T> typeInfo)
        where T : ControlMessage => JsonSerializer.Deserialize(payload, typeInfo);

    private static void Validate(ControlMessage message)
    {
        switch (message)
        {
            case AuthRequest m:
                Name(m.Destination, "destination");
                OptionalName(m.HandOffId, "handOffId");
                if (m.TraceParent is { Length: > Spans.TraceParentLength })
                {
                    throw Malformed($"traceParent has {m.TraceParent.Length} characters, a W3C traceparent {Spans.TraceParentLength}");
                }

                break;
            case AuthAccepted m:
                Name(m.HandOffId, "handOffId");
                OptionalName(m.NextHop, "nextHop");
                if (m.Route is null)
                {
                    throw Malformed("route is missing");
                }

                if (m.Route.Count > MaxRouteHops)
                {
                    throw Malformed($"route has {m.Route.Count} hops, the limit is {MaxRouteHops}");
                }

                for (var i = 0; i < m.Route.Count; i++)
                {
                    var hop = m.Route[i] ?? throw Malformed($"route[{i}] is null");
                    Name(hop.Proxy, $"route[{i}].proxy");
                    Name(hop.Address, $"route[{i}].address");
                    Pin(hop.Pin, $"route[{i}].pin");
                }

                break;
            case ConnectOnwards m:
                Name(m.Proxy, "proxy");
                break;
            case ConnectDestination m:
                Name(m.Destination, "destination");
                break;
            case Connected m:
                Name(m.To, "to");
                break;
            case Refused m:
                Name(m.Code, "code");
                Name(m.Step, "step");
                Name(m.At, "at");
                Text(m.Message, "message", MaxMessageLength);
                break;
            default:
                throw new FrameException(FrameError.UnknownType, $"{message.GetType().Name} is not a wire message");
        }
    }

    private static void Name(string? value, string field) => Text(value, field, MaxNameLength);

    private static void OptionalName(string? value, string field)
    {
        if (value is not null)
        {
            Text(value, field, MaxNameLength);
        }
    }

    private static void Text(string? value, string field, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw Malformed($"{field} is missing or empty");
        }

        if (value.Length > maxLength)
        {
            throw Malformed($"{field} is {value.Length} characters, the limit is {maxLength}");
        }
    }

    private static void Pin(string? value, string field)
    {
        Name(value, field);
        Span<byte> bytes = stackalloc byte[PinBytes + 3];
        if (!Convert.TryFromBase64String(value!, bytes, out var written) || written != PinBytes)
        {
            throw Malformed($"{field} is not a base64 SHA-256 digest");
        }
    }

    private static FrameException Malformed(string message) => new(FrameError.MalformedPayload, message);

    private enum MessageType : byte
    {
        AuthRequest = 1,
        AuthAccepted = 2,
        ConnectOnwards = 3,
        ConnectDestination = 4,
        Connected = 5,
        Refused = 6,
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    MaxDepth = 8)]
[JsonSerializable(typeof(AuthRequest))]
[JsonSerializable(typeof(AuthAccepted))]
[JsonSerializable(typeof(ConnectOnwards))]
[JsonSerializable(typeof(ConnectDestination))]
[JsonSerializable(typeof(Connected))]
[JsonSerializable(typeof(Refused))]
internal sealed partial class WireJsonContext : JsonSerializerContext;
