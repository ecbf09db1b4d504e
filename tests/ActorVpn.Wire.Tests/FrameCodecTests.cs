using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace ActorVpn.Wire.Tests;

public class FrameCodecTests
{
    private static readonly string PinA = Convert.ToBase64String(new byte[32]);
    private static readonly string PinB = Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());

    internal static readonly ControlMessage[] Messages =
    [
        new AuthRequest("server.example:443", null),
        new AuthRequest("server.example:443", "handoff-7"),
        new AuthRequest("server.example:443", "handoff-7", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        new AuthAccepted("handoff-7", [new RouteHop("proxy2", "10.0.0.2:7000", PinA), new RouteHop("proxy3", "[::1]:7001", PinB)], "proxy2"),
        new AuthAccepted("handoff-7", [], null),
        new ConnectOnwards("proxy2"),
        new ConnectDestination("server.example:443"),
        new Connected("proxy2"),
        new Refused("not-on-route", "607", "proxy1", "proxy9 is not the next hop of this session — refused"),
    ];

    public static TheoryData<ControlMessage> EveryMessage() => new(Messages);

    [Theory]
    [MemberData(nameof(EveryMessage))]
    public void Every_message_type_round_trips_through_encode_and_decode(ControlMessage message)
    {
        var decoded = FrameCodec.Decode(FrameCodec.Encode(message));

        AssertSame(message, decoded);
    }

    [Theory]
    [MemberData(nameof(EveryMessage))]
    public async Task Every_message_type_round_trips_through_a_stream(ControlMessage message)
    {
        using var stream = new MemoryStream();
        await FrameCodec.WriteAsync(stream, message, CancellationToken.None);
        await FrameCodec.WriteAsync(stream, new Connected("marker"), CancellationToken.None);
        stream.Position = 0;

        AssertSame(message, await FrameCodec.ReadAsync(stream, CancellationToken.None));
        AssertSame(new Connected("marker"), await FrameCodec.ReadAsync(stream, CancellationToken.None));
    }

    [Fact]
    public void The_header_is_version_type_and_big_endian_length_and_the_payload_is_camel_case_json()
    {
        var frame = FrameCodec.Encode(new ConnectOnwards("proxy2"));

        Assert.Equal(FrameCodec.Version, frame[0]);
        Assert.Equal(3, frame[1]);
        Assert.Equal((uint)(frame.Length - FrameCodec.HeaderSize), BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(2, 4)));
        Assert.Equal("""{"proxy":"proxy2"}""", Encoding.UTF8.GetString(frame, FrameCodec.HeaderSize, frame.Length - FrameCodec.HeaderSize));
    }

    [Fact]
    public async Task A_writer_issues_one_write_for_the_whole_frame_and_then_flushes()
    {
        var stream = new RecordingStream();

        await FrameCodec.WriteAsync(stream, new Connected("proxy2"), CancellationToken.None);

        Assert.Equal(["write", "flush"], stream.Calls);
        Assert.Equal(FrameCodec.Encode(new Connected("proxy2")), stream.Written.ToArray());
    }

    [Fact]
    public async Task A_reader_never_reads_past_the_frame()
    {
        var frame = FrameCodec.Encode(new Connected("proxy2"));
        var trailing = "raw bytes of the next TLS session"u8.ToArray();
        using var stream = new MemoryStream([.. frame, .. trailing]);

        await FrameCodec.ReadAsync(stream, CancellationToken.None);

        Assert.Equal(frame.Length, stream.Position);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    public async Task A_truncated_header_is_truncated(int length)
    {
        var frame = FrameCodec.Encode(new Connected("proxy2"))[..length];

        AssertError(FrameError.Truncated, () => FrameCodec.Decode(frame));
        await AssertErrorAsync(FrameError.Truncated, new MemoryStream(frame));
    }

    [Fact]
    public async Task A_truncated_payload_is_truncated()
    {
        var frame = FrameCodec.Encode(new Connected("proxy2"));
        var cut = frame[..^1];

        AssertError(FrameError.Truncated, () => FrameCodec.Decode(cut));
        await AssertErrorAsync(FrameError.Truncated, new MemoryStream(cut));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(255)]
    public async Task Another_version_is_unsupported(byte version)
    {
        var frame = FrameCodec.Encode(new Connected("proxy2"));
        frame[0] = version;

        AssertError(FrameError.UnsupportedVersion, () => FrameCodec.Decode(frame));
        await AssertErrorAsync(FrameError.UnsupportedVersion, new MemoryStream(frame));
    }

    [Fact]
    public void A_payload_of_exactly_the_limit_is_accepted_and_one_more_byte_is_oversized()
    {
        var frame = new byte[FrameCodec.HeaderSize + FrameCodec.MaxPayload + 1];
        frame[0] = FrameCodec.Version;
        frame[1] = 5;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(2), FrameCodec.MaxPayload + 1);

        AssertError(FrameError.Oversized, () => FrameCodec.Decode(frame));

        // Exactly the limit passes the header check and fails only on its (zero-filled) JSON.
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(2), FrameCodec.MaxPayload);
        AssertError(FrameError.MalformedPayload, () => FrameCodec.Decode(frame.AsSpan(0, frame.Length - 1)));
    }

    [Fact]
    public void Encoding_a_message_whose_payload_exceeds_the_limit_is_refused()
    {
        var hops = Enumerable.Range(0, 64).Select(i => new RouteHop(new string('p', 200) + i, new string('a', 200), PinA)).ToArray();

        AssertError(FrameError.Oversized, () => FrameCodec.Encode(new AuthAccepted("h", hops, null)));
    }

    [Fact]
    public void A_2_GiB_length_is_oversized_without_allocating_it()
    {
        var header = Header(type: 1, length: 2u * 1024 * 1024 * 1024);
        var before = GC.GetAllocatedBytesForCurrentThread();

        AssertError(FrameError.Oversized, () => FrameCodec.Decode(header));

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024 * 1024);
    }

    [Fact]
    public async Task A_2_GiB_length_on_a_stream_is_oversized_without_reading_or_allocating_the_payload()
    {
        using var stream = new MemoryStream([.. Header(type: 1, length: uint.MaxValue), .. new byte[100]]);
        var before = GC.GetAllocatedBytesForCurrentThread();

        // A MemoryStream completes synchronously, so everything runs on this thread.
        var read = FrameCodec.ReadAsync(stream, CancellationToken.None);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var error = await Assert.ThrowsAsync<FrameException>(async () => await read);
        Assert.Equal(FrameError.Oversized, error.Error);
        Assert.True(allocated < 1024 * 1024, $"allocated {allocated} bytes");
        Assert.Equal(FrameCodec.HeaderSize, stream.Position);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(200)]
    public async Task An_unknown_type_is_unknown(byte type)
    {
        var frame = FrameCodec.Encode(new Connected("proxy2"));
        frame[1] = type;

        AssertError(FrameError.UnknownType, () => FrameCodec.Decode(frame));
        await AssertErrorAsync(FrameError.UnknownType, new MemoryStream(frame));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("\"proxy2\"")]
    [InlineData("{\"to\":42}")]
    [InlineData("{\"to\":\"proxy2\"} trailing")]
    [InlineData("{\"to\":\"a\",\"to\":\"b\"}")]
    public void Malformed_json_is_malformed(string json)
    {
        AssertError(FrameError.MalformedPayload, () => FrameCodec.Decode(Frame(type: 5, json)));
    }

    [Fact]
    public void Invalid_utf8_is_malformed()
    {
        byte[] payload = [.. "{\"to\":\""u8, 0xC3, 0x28, .. "\"}"u8];

        AssertError(FrameError.MalformedPayload, () => FrameCodec.Decode([.. Header(5, (uint)payload.Length), .. payload]));
    }

    [Fact]
    public void Bytes_after_the_frame_are_malformed()
    {
        byte[] frame = [.. FrameCodec.Encode(new Connected("proxy2")), 0];

        AssertError(FrameError.MalformedPayload, () => FrameCodec.Decode(frame));
    }

    [Theory]
    [InlineData(1, "{}")]
    [InlineData(1, "{\"handOffId\":\"h\"}")]
    [InlineData(1, "{\"destination\":null,\"handOffId\":null}")]
    [InlineData(1, "{\"destination\":\"\",\"handOffId\":null}")]
    [InlineData(1, "{\"destination\":\"d\",\"handOffId\":\"\"}")]
    [InlineData(2, "{\"handOffId\":\"h\",\"nextHop\":null}")]
    [InlineData(2, "{\"handOffId\":\"h\",\"route\":null,\"nextHop\":null}")]
    [InlineData(2, "{\"handOffId\":\"h\",\"route\":[null],\"nextHop\":null}")]
    [InlineData(2, "{\"handOffId\":\"h\",\"route\":[{\"proxy\":\"p\",\"address\":\"a\"}],\"nextHop\":null}")]
    [InlineData(2, "{\"handOffId\":\"h\",\"route\":[{\"proxy\":\"p\",\"address\":\"a\",\"pin\":\"not a pin\"}],\"nextHop\":null}")]
    [InlineData(2, "{\"handOffId\":\"h\",\"route\":[{\"proxy\":\"p\",\"address\":\"a\",\"pin\":\"AAAA\"}],\"nextHop\":null}")]
    [InlineData(2, "{\"handOffId\":\"\",\"route\":[],\"nextHop\":null}")]
    [InlineData(3, "{}")]
    [InlineData(3, "{\"proxy\":\"\"}")]
    [InlineData(4, "{\"destination\":null}")]
    [InlineData(5, "{\"from\":\"proxy2\"}")]
    [InlineData(6, "{\"code\":\"c\",\"step\":\"607\",\"at\":\"proxy1\"}")]
    [InlineData(6, "{\"code\":\"c\",\"step\":\"607\",\"at\":\"\",\"message\":\"m\"}")]
    public void Missing_null_or_empty_required_fields_are_malformed(byte type, string json)
    {
        AssertError(FrameError.MalformedPayload, () => FrameCodec.Decode(Frame(type, json)));
    }

    [Fact]
    public void A_request_without_trace_context_is_the_frame_a_proxy_that_predates_it_reads()
    {
        var payload = Encoding.UTF8.GetString(FrameCodec.Encode(new AuthRequest("d", null)).AsSpan(6));
        Assert.Equal("{\"destination\":\"d\",\"handOffId\":null}", payload);

        // ...and a frame from a newer client, with a field this proxy does not know, is read all the same.
        var decoded = Assert.IsType<AuthRequest>(FrameCodec.Decode(Frame(1, "{\"destination\":\"d\",\"handOffId\":null,\"traceParent\":\"x\",\"later\":1}")));
        Assert.Equal("x", decoded.TraceParent); // not well formed: ignored where it is used, a new trace starts there
    }

    [Fact]
    public void A_trace_context_longer_than_a_W3C_traceparent_is_malformed()
    {
        var tooLong = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" + "0";
        AssertError(FrameError.MalformedPayload, () => FrameCodec.Decode(Frame(1, $"{{\"destination\":\"d\",\"handOffId\":null,\"traceParent\":\"{tooLong}\"}}")));
    }

    [Fact]
    public void Names_longer_than_256_characters_are_malformed()
    {
        var ok = new string('x', 256);
        var tooLong = new string('x', 257);

        Assert.Equal(new ConnectOnwards(ok), FrameCodec.Decode(Frame(3, $"{{\"proxy\":\"{ok}\"}}")));
        AssertError(FrameError.MalformedPayload, () => FrameCodec.Decode(Frame(3, $"{{\"proxy\":\"{tooLong}\"}}")));
        AssertError(FrameError.MalformedPayload, () => FrameCodec.Decode(Frame(1, $"{{\"destination\":\"d\",\"handOffId\":\"{tooLong}\"}}")));
        AssertError(FrameError.MalformedPayload, () => FrameCodec.Encode(new Connected(tooLong)));
    }

    [Fact]
    public void A_route_of_more_than_64_hops_is_malformed()
    {
        var hop = $"{{\"proxy\":\"p\",\"address\":\"a\",\"pin\":\"{PinA}\"}}";
        string Route(int hops) => $"{{\"handOffId\":\"h\",\"route\":[{string.Join(',', Enumerable.Repeat(hop, hops))}],\"nextHop\":\"p\"}}";

        var accepted = Assert.IsType<AuthAccepted>(FrameCodec.Decode(Frame(2, Route(64))));
        Assert.Equal(64, accepted.Route.Count);
        AssertError(FrameError.MalformedPayload, () => FrameCodec.Decode(Frame(2, Route(65))));
    }

    [Fact]
    public void Unknown_json_members_are_ignored_for_forward_compatibility()
    {
        Assert.Equal(new Connected("proxy2"), FrameCodec.Decode(Frame(5, "{\"to\":\"proxy2\",\"later\":[1,2]}")));
    }

    internal static byte[] Header(byte type, uint length)
    {
        var header = new byte[FrameCodec.HeaderSize];
        header[0] = FrameCodec.Version;
        header[1] = type;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(2), length);
        return header;
    }

    private static byte[] Frame(byte type, string json)
    {
        var payload = Encoding.UTF8.GetBytes(json);
        return [.. Header(type, (uint)payload.Length), .. payload];
    }

    private static void AssertError(FrameError expected, Action action)
    {
        var error = Assert.Throws<FrameException>(action);
        Assert.Equal(expected, error.Error);
    }

    private static void AssertError(FrameError expected, Func<object> action) => AssertError(expected, () => { action(); });

    private static async Task AssertErrorAsync(FrameError expected, Stream stream)
    {
        var error = await Assert.ThrowsAsync<FrameException>(async () => await FrameCodec.ReadAsync(stream, CancellationToken.None));
        Assert.Equal(expected, error.Error);
    }

    internal static void AssertSame(ControlMessage expected, ControlMessage actual)
    {
        if (expected is AuthAccepted e && actual is AuthAccepted a)
        {
            Assert.Equal(e with { Route = [] }, a with { Route = [] });
            Assert.Equal(e.Route, a.Route);
            return;
        }

        Assert.Equal(expected, actual);
    }

    private sealed class RecordingStream : Stream
    {
        public List<string> Calls { get; } = [];

        public MemoryStream Written { get; } = new();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => Calls.Add("flush");

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Calls.Add("flush");
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Calls.Add("write");
            Written.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Calls.Add("write");
            Written.Write(buffer, offset, count);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
