using System.Net.Security;
using System.Net.Sockets;
using ActorVpn.Client;
using ActorVpn.Protocol;
using ActorVpn.Testing;
using ActorVpn.Topology;
using ActorVpn.Wire;
using FsCheck.Xunit;
using Xunit;
using static ActorVpn.Protocol.ClientAuthProtocol;
using static ActorVpn.Protocol.HandOffProtocol;

namespace ActorVpn.Chaos.Tests;

/// <summary>
/// Random and mutated input to the control-frame parser, to a live proxy and to a live auth server:
/// no crash, no hang past the deadline, a clear refusal, and other sessions unharmed. FsCheck prints
/// the seed of a failing run (replay it with <c>[Property(Replay = "...")]</c>).
/// </summary>
public sealed class HostileInputTests : IClassFixture<HostileInputTests.LiveSystem>
{
    private readonly LiveSystem _live;

    public HostileInputTests(LiveSystem live) => _live = live;

    [Property(MaxTest = 100_000)]
    public bool Arbitrary_bytes_decode_to_a_message_or_a_frame_error(byte[] bytes) => DecodesOrRefuses(bytes);

    [Property(MaxTest = 50_000)]
    public bool Mutated_valid_frames_decode_to_a_message_or_a_frame_error(byte position, byte value, bool truncate)
    {
        var frame = FrameCodec.Encode(new AuthAccepted("hand-off", [new RouteHop("proxy2", "127.0.0.1:7102", Convert.ToBase64String(new byte[32]))], "proxy2"));
        var mutated = truncate ? frame[..(position % frame.Length)] : frame.ToArray();
        if (!truncate)
        {
            mutated[position % mutated.Length] = value;
        }

        return DecodesOrRefuses(mutated);
    }

    [Property(MaxTest = 2_000)]
    public bool Garbage_certificates_at_an_auth_server_are_refused_with_a_clear_error(byte[] der, bool withHandOff)
    {
        var answer = _live.Scenario.Node.Control.AskAsync<object>("as1",
            new AuthenticateClient("proxy1", der, "server", withHandOff ? "forged" : null)).GetAwaiter().GetResult();
        return answer is ClientRefused { Error.Code: ErrorCodes.UnknownUser or ErrorCodes.CertificateExpired };
    }

    [Property(MaxTest = 1_000)]
    public bool Forged_inter_server_calls_are_refused_as_untrusted(byte[] credential, byte[] nonce, byte[] proof)
    {
        var control = _live.Scenario.Node.Control;
        var opened = control.AskAsync<object>("as2", new OpenHandOff("as1", credential, "x")).GetAwaiter().GetResult();
        var sent = control.AskAsync<object>("as2", new HandOffCertificate("as1", new HandOffId("x"), [], new UserName("alice"), "server", ["as1"], nonce, proof, TimeSpan.FromSeconds(1)))
            .GetAwaiter().GetResult();
        return opened is HandOffFailed { Error.Code: ErrorCodes.UntrustedPeer } && sent is HandOffFailed { Error.Code: ErrorCodes.UntrustedPeer };
    }

    /// <summary>300 seeded random frames, one connection each, after a real TLS handshake at the entry proxy.</summary>
    [Fact]
    public async Task Random_frames_at_a_live_proxy_get_a_refusal_or_a_closed_connection_and_other_sessions_keep_flowing()
    {
        var random = new Random(20251125);
        await using var healthy = await _live.Scenario.ConnectAsync("alice");
        Assert.True(await healthy.RoundTripAsync(16 * 1024));
        var entry = HostPort.Parse(_live.Profile.Entries["server"].Address);
        using var certificate = _live.Profile.CertificateWithKey();
        for (var i = 0; i < 300; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            if (i % 3 == 0 && bytes.Length >= FrameCodec.HeaderSize)
            {
                bytes[0] = FrameCodec.Version; // get past the version check more often
            }

            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(entry.Host, entry.Port);
            await using var transport = new NetworkStream(socket, ownsSocket: false);
            await using var tls = await TlsHop.ConnectAsync(transport, "proxy1", certificate, _ => true, CancellationToken.None);
            await tls.WriteAsync(bytes);
            await tls.FlushAsync();
            socket.Shutdown(SocketShutdown.Send);
            Assert.True(await RefusedOrClosedAsync(tls), $"case {i}: the proxy neither refused nor closed");
        }

        Assert.True(await healthy.RoundTripAsync(16 * 1024), "a healthy session was harmed");
        var status = await _live.Scenario.ProxyStatusAsync("proxy1");
        Assert.True(status.Refused >= 1);
    }

    private static async Task<bool> RefusedOrClosedAsync(SslStream tls)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            var answer = await FrameCodec.ReadAsync(tls, deadline.Token);
            return answer is Refused or AuthAccepted; // a random frame may be a well-formed request
        }
        catch (Exception e) when (e is FrameException or IOException or SocketException)
        {
            return true; // closed
        }
        catch (OperationCanceledException)
        {
            return false; // hung
        }
    }

    private static bool DecodesOrRefuses(byte[] bytes)
    {
        try
        {
            FrameCodec.Decode(bytes);
            return true;
        }
        catch (FrameException)
        {
            return true;
        }
    }

    /// <summary>One live example system shared by the live properties of this class.</summary>
    public sealed class LiveSystem : IAsyncLifetime
    {
        public VpnScenario Scenario { get; private set; } = null!;

        public ClientProfile Profile { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Scenario = await VpnScenario.StartExampleAsync();
            Profile = await Scenario.EnrollAsync("alice");
        }

        public async Task DisposeAsync() => await Scenario.DisposeAsync();
    }
}
