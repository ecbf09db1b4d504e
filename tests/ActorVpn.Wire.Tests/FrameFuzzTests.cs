using System.Buffers.Binary;
using Xunit;

namespace ActorVpn.Wire.Tests;

public class FrameFuzzTests
{
    [Fact]
    public async Task Twenty_thousand_random_and_mutated_frames_raise_nothing_but_frame_exceptions()
    {
        var random = new Random(20_000);
        var seeds = FrameCodecTests.Messages.Select(FrameCodec.Encode).ToArray();
        var decoded = 0;
        var rejected = new Dictionary<FrameError, int>();

        for (var i = 0; i < 20_000; i++)
        {
            var frame = Mutate(random, seeds[random.Next(seeds.Length)]);
            ControlMessage? message = null;
            try
            {
                message = i % 10 == 0
                    ? await FrameCodec.ReadAsync(new MemoryStream(frame), CancellationToken.None)
                    : FrameCodec.Decode(frame);
            }
            catch (FrameException ex)
            {
                rejected[ex.Error] = rejected.GetValueOrDefault(ex.Error) + 1;
            }

            if (message is not null)
            {
                decoded++;

                // Whatever decodes is valid: it encodes again and decodes to the same message.
                FrameCodecTests.AssertSame(message, FrameCodec.Decode(FrameCodec.Encode(message)));
            }
        }

        // The generator reaches every kind of rejection and some valid frames.
        Assert.True(decoded > 0);
        Assert.Equal(Enum.GetValues<FrameError>().Order(), rejected.Keys.Order());
    }

    private static byte[] Mutate(Random random, byte[] seed)
    {
        switch (random.Next(8))
        {
            case 0:
                {
                    // Pure noise, sometimes with a plausible header.
                    var noise = new byte[random.Next(0, 64)];
                    random.NextBytes(noise);
                    if (noise.Length >= FrameCodec.HeaderSize && random.Next(2) == 0)
                    {
                        noise[0] = FrameCodec.Version;
                        noise[1] = (byte)random.Next(0, 8);
                        BinaryPrimitives.WriteUInt32BigEndian(noise.AsSpan(2), (uint)(noise.Length - FrameCodec.HeaderSize));
                    }

                    return noise;
                }

            case 1:
                return seed[..random.Next(0, seed.Length + 1)];
            case 2:
                {
                    var frame = (byte[])seed.Clone();
                    BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(2), (uint)random.NextInt64(0, uint.MaxValue + 1L));
                    return frame;
                }

            case 3:
                {
                    var frame = (byte[])seed.Clone();
                    frame[1] = (byte)random.Next(256);
                    return frame;
                }

            case 4:
                {
                    var frame = (byte[])seed.Clone();
                    frame[0] = (byte)random.Next(256);
                    return frame;
                }

            default:
                {
                    // Flip, replace, insert or delete a few payload bytes and keep the length honest.
                    var payload = seed[FrameCodec.HeaderSize..].ToList();
                    for (var edits = random.Next(1, 4); edits > 0; edits--)
                    {
                        var at = random.Next(payload.Count + 1);
                        switch (random.Next(4))
                        {
                            case 0 when at < payload.Count:
                                payload[at] ^= (byte)(1 << random.Next(8));
                                break;
                            case 1 when at < payload.Count:
                                payload[at] = (byte)"{}[]\":,nul0\\ \u00ff"[random.Next(14)];
                                break;
                            case 2:
                                payload.Insert(at, (byte)random.Next(256));
                                break;
                            case 3 when at < payload.Count:
                                payload.RemoveAt(at);
                                break;
                        }
                    }

                    var frame = new byte[FrameCodec.HeaderSize + payload.Count];
                    seed.AsSpan(0, 2).CopyTo(frame);
                    BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(2), (uint)payload.Count);
                    payload.CopyTo(frame, FrameCodec.HeaderSize);
                    return frame;
                }
        }
    }
}
