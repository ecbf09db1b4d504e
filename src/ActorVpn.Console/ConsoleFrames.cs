using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ActorVpn.OperatorConsole;

/// <summary>One console command: its words, as typed after <c>avpn console --</c>.</summary>
public sealed record ConsoleRequest(IReadOnlyList<string> Args);

/// <summary>
/// The node's answer: the exit code, the text to print (JSON with <c>--json</c>), and for
/// <c>user add</c> the new client profile, which the operator's side writes to <c>--out</c> (for
/// <c>operator add</c> the new operator credential, <see cref="OperatorJson"/>, likewise).
/// A streaming command (<c>cluster tail</c>) sends replies with <see cref="More"/> set, one per
/// event, and ends with one without it; a request the client sends meanwhile stops the stream.
/// </summary>
public sealed record ConsoleReply(int Exit, string Output, string? Error = null, string? ProfileJson = null, bool More = false, string? OperatorJson = null)
{
    /// <summary>
    /// The words a client sends to stop a streaming command (any request does). With no stream
    /// running (it ended as the client asked) they get no reply, so client and node stay in step.
    /// </summary>
    public static readonly IReadOnlyList<string> StopWords = ["stop"];

    public static ConsoleReply Part(string output) => new(Ok, output, More: true);

    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    public static ConsoleReply Text(string output) => new(Ok, output);

    public static ConsoleReply UsageError(string message, string usage) => new(Usage, string.Empty, $"{message}\nusage: {usage}");

    public static ConsoleReply Failure(string message, string output = "") => new(Failed, output, message);
}

/// <summary>
/// The console's framing, in the style of <c>ActorVpn.Wire.FrameCodec</c>:
/// <c>[version u8][length u32 big-endian][payload: UTF-8 JSON, camelCase]</c>. The header is checked
/// against a hard limit before anything is allocated for the payload; a reader takes exactly one frame.
/// </summary>
public static class ConsoleFrames
{
    public const byte Version = 1;
    public const int HeaderSize = 5;

    /// <summary>Largest request (a command line) by default: 16 KiB (<c>actorvpn.console.max-request</c>).</summary>
    public const int MaxRequest = 16 * 1024;

    /// <summary>Largest reply (a big actor tree or log peek) by default: 4 MiB (<c>actorvpn.console.max-reply</c>).</summary>
    public const int MaxReply = 4 * 1024 * 1024;

    /// <summary>The most <c>max-request</c> may be set to; a console client writes requests up to this (the node enforces its own limit).</summary>
    public const int RequestCeiling = 1024 * 1024;

    /// <summary>The most <c>max-reply</c> may be set to; a console client reads replies up to this (the node enforces its own limit).</summary>
    public const int ReplyCeiling = 64 * 1024 * 1024;

    /// <summary>Most words in one command.</summary>
    public const int MaxArgs = 64;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static ValueTask WriteRequestAsync(Stream stream, ConsoleRequest request, CancellationToken ct) =>
        WriteAsync(stream, JsonSerializer.SerializeToUtf8Bytes(request, Json), RequestCeiling, ct);

    /// <param name="maxReply">The node's <c>max-reply</c>: a larger reply is replaced by a failure saying so.</param>
    public static ValueTask WriteReplyAsync(Stream stream, ConsoleReply reply, CancellationToken ct, int maxReply = MaxReply)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(reply, Json);
        if (payload.Length > maxReply)
        {
            payload = JsonSerializer.SerializeToUtf8Bytes(ConsoleReply.Failure($"the reply is larger than {maxReply} bytes; narrow the command (--depth, --lines)"), Json);
        }

        return WriteAsync(stream, payload, maxReply, ct);
    }

    /// <returns>null when the connection ended cleanly before a frame.</returns>
    /// <exception cref="InvalidDataException">Another version, an oversized or malformed frame, too many words.</exception>
    /// <param name="maxRequest">The node's <c>max-request</c>.</param>
    public static async ValueTask<ConsoleRequest?> ReadRequestAsync(Stream stream, CancellationToken ct, int maxRequest = MaxRequest)
    {
        var payload = await ReadAsync(stream, maxRequest, ct).ConfigureAwait(false);
        if (payload is null)
        {
            return null;
        }

        var request = Deserialize<ConsoleRequest>(payload);
        if (request.Args is null || request.Args.Count > MaxArgs || request.Args.Any(a => a is null))
        {
            throw new InvalidDataException($"a request holds 0 to {MaxArgs} words");
        }

        return request;
    }

    /// <exception cref="InvalidDataException">The node ended the connection or sent a malformed frame.</exception>
    public static async ValueTask<ConsoleReply> ReadReplyAsync(Stream stream, CancellationToken ct)
    {
        var payload = await ReadAsync(stream, ReplyCeiling, ct).ConfigureAwait(false)
            ?? throw new InvalidDataException("the node closed the console connection");
        var reply = Deserialize<ConsoleReply>(payload);
        return reply.Output is null ? throw new InvalidDataException("a reply without output") : reply;
    }

    private static async ValueTask WriteAsync(Stream stream, byte[] payload, int limit, CancellationToken ct)
    {
        if (payload.Length > limit)
        {
            throw new InvalidDataException($"a frame of {payload.Length} bytes is over the limit of {limit}");
        }

        var frame = new byte[HeaderSize + payload.Length];
        frame[0] = Version;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, HeaderSize);
        await stream.WriteAsync(frame, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }

    private static async ValueTask<byte[]?> ReadAsync(Stream stream, int limit, CancellationToken ct)
    {
        var header = new byte[HeaderSize];
        var got = await stream.ReadAtLeastAsync(header, HeaderSize, throwOnEndOfStream: false, ct).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }

        if (got < HeaderSize)
        {
            throw new InvalidDataException("the connection ended inside a frame header");
        }

        if (header[0] != Version)
        {
            throw new InvalidDataException($"console frame version {header[0]}, expected {Version}");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1));
        if (length > (uint)limit)
        {
            throw new InvalidDataException($"a frame of {length} bytes is over the limit of {limit}");
        }

        var payload = new byte[length];
        got = await stream.ReadAtLeastAsync(payload, (int)length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
        return got < length ? throw new InvalidDataException("the connection ended inside a frame") : payload;
    }

    private static T Deserialize<T>(byte[] payload)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(payload, Json) ?? throw new InvalidDataException("an empty frame");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"a malformed frame: {e.Message}", e);
        }
    }
}
