using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.Client;
using ActorVpn.Credentials;
using ActorVpn.Protocol;
using ActorVpn.Testing;
using ActorVpn.Topology;
using ActorVpn.Wire;
using Xunit;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.DataPlane.Tests;

/// <summary>
/// Bad requests are refused cleanly and never take down another user's session.
/// Each test keeps a healthy session of another user ("bob") open throughout and checks it still flows at the end.
/// </summary>
public sealed class RefusalTests
{
    [Fact]
    public async Task Connecting_onwards_to_a_proxy_not_next_on_the_route_is_refused_with_no_route()
    {
        await using var chain = await ChainFixture.StartAsync(3);
        await using var healthy = await HealthySession.OpenAsync(chain);
        await using var hop = await ManualHop.OpenAsync(chain.Node.ProxyAddresses["proxy1"], chain.Profile);

        var accepted = Assert.IsType<AuthAccepted>(await hop.AskAsync(new AuthRequest(ChainFixture.Destination, null)));
        Assert.Equal(["proxy2", "proxy3"], accepted.Route.Select(r => r.Proxy));

        var refused = Assert.IsType<Refused>(await hop.AskAsync(new ConnectOnwards("proxy3")));
        Assert.Equal(ErrorCodes.NoRoute, refused.Code);
        Assert.Equal("proxy1", refused.At);
        await Traffic.AssertClosedByPeerAsync(hop.Socket);
        await healthy.AssertStillFlowsAsync();
    }

    [Fact]
    public async Task A_client_that_skips_a_hop_and_asks_the_entry_proxy_for_the_destination_is_refused()
    {
        await using var chain = await ChainFixture.StartAsync(3);
        await using var healthy = await HealthySession.OpenAsync(chain);
        await using var hop = await ManualHop.OpenAsync(chain.Node.ProxyAddresses["proxy1"], chain.Profile);

        Assert.IsType<AuthAccepted>(await hop.AskAsync(new AuthRequest(ChainFixture.Destination, null)));
        var refused = Assert.IsType<Refused>(await hop.AskAsync(new ConnectDestination(ChainFixture.Destination)));
        Assert.Equal(ErrorCodes.NoRoute, refused.Code);
        await Traffic.AssertClosedByPeerAsync(hop.Socket);
        Assert.Equal(1, chain.Echo.Connections); // only the healthy session ever reached the destination
        await healthy.AssertStillFlowsAsync();
    }

    [Fact]
    public async Task An_entry_proxy_not_issued_by_the_users_home_server_is_not_trusted()
    {
        await using var chain = await ChainFixture.StartAsync(3);
        await using var healthy = await HealthySession.OpenAsync(chain);
        // A profile whose trust anchor is another authority (as2): proxy1's identity, issued by as1, must fail at hop 1.
        var other = await chain.Node.EnrollUserAsync("mallory", "as2");
        var wrongAnchor = chain.Profile with { TrustAnchorPem = other.TrustAnchorPem };

        var failure = await Assert.ThrowsAsync<ChainException>(() => chain.DialAsync(wrongAnchor));
        Assert.Equal(ErrorCodes.UntrustedPeer, failure.Code);
        Assert.Equal("proxy1", failure.Hop);

        using var local = await LocalConnections.OpenRefusedAsync(() => chain.OpenLocalAsync(wrongAnchor));
        await Traffic.AssertClosedByPeerAsync(local);
        await healthy.AssertStillFlowsAsync();
    }

    [Fact]
    public async Task On_hop_2_only_the_proxy_the_route_pins_is_accepted()
    {
        await using var chain = await ChainFixture.StartAsync(3);
        await using var healthy = await HealthySession.OpenAsync(chain);
        await using var hop = await ManualHop.OpenAsync(chain.Node.ProxyAddresses["proxy1"], chain.Profile);
        var accepted = Assert.IsType<AuthAccepted>(await hop.AskAsync(new AuthRequest(ChainFixture.Destination, null)));
        Assert.IsType<Connected>(await hop.AskAsync(new ConnectOnwards("proxy2")));

        // Through proxy1, proxy2 answers; the client pins it against the route's pin for proxy3 (a wrong pin): TLS fails.
        X509Certificate2? presented = null;
        using var certificate = chain.Profile.CertificateWithKey();
        using var deadline = new CancellationTokenSource(ChainFixture.Deadline);
        await Assert.ThrowsAnyAsync<System.Security.Authentication.AuthenticationException>(() => TlsHop.ConnectAsync(hop.Transport, "proxy2", certificate, p =>
        {
            presented = CertificateText.FromDer(p.RawData);
            return Pins.Matches(p, accepted.Route[1].Pin);
        }, deadline.Token));

        using (presented)
        {
            Assert.NotNull(presented);
            Assert.True(Pins.Matches(presented, accepted.Route[0].Pin), "the route's pin for proxy2 matches the certificate proxy2 presents");
            Assert.False(Pins.Matches(presented, accepted.Route[1].Pin));
        }

        // The client gives up (as ChainDialer does); what was built for it at proxy1 and proxy2 goes away.
        await hop.DisposeAsync();
        await chain.Kit.AwaitAssertAsync(async () =>
        {
            Assert.Single((await chain.ProxyStatusAsync("proxy1")).Sessions);
            Assert.Single((await chain.ProxyStatusAsync("proxy2")).Sessions);
        }, ChainFixture.Deadline);
        await healthy.AssertStillFlowsAsync();
    }

    [Fact]
    public async Task A_revoked_user_is_refused_and_its_local_connection_closed()
    {
        await using var chain = await ChainFixture.StartAsync(3);
        await using var healthy = await HealthySession.OpenAsync(chain);
        Assert.IsType<UserRevokedAck>(await chain.Node.Control.AskAsync<object>(ChainFixture.Home, new RevokeUser(ChainFixture.User)));

        var failure = await Assert.ThrowsAsync<ChainException>(() => chain.DialAsync());
        Assert.Equal(ErrorCodes.CertificateRevoked, failure.Code);

        using var local = await LocalConnections.OpenRefusedAsync(() => chain.OpenLocalAsync());
        await Traffic.AssertClosedByPeerAsync(local);
        await healthy.AssertStillFlowsAsync();
    }

    [Fact]
    public async Task An_expired_user_certificate_is_refused()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var chain = await ChainFixture.StartAsync(3, clock: clock);
        await using var healthy = await HealthySession.OpenAsync(chain);
        var shortLived = await chain.Node.EnrollUserAsync("carol", ChainFixture.Home, lifetime: TimeSpan.FromHours(1));
        using (var first = await chain.DialAsync(shortLived))
        {
            await Traffic.EchoAndVerifyAsync(first.Tls, RandomNumberGenerator.GetBytes(1024), shutdown: null);
        }

        clock.Advance(TimeSpan.FromHours(2));

        var failure = await Assert.ThrowsAsync<ChainException>(() => chain.DialAsync(shortLived));
        Assert.Equal(ErrorCodes.CertificateExpired, failure.Code);
        await healthy.AssertStillFlowsAsync();
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("oversized")]
    [InlineData("unknown-type")]
    public async Task A_bad_frame_after_TLS_is_refused_with_protocol_error_or_closed(string kind)
    {
        await using var chain = await ChainFixture.StartAsync(3);
        await using var healthy = await HealthySession.OpenAsync(chain);
        await using var hop = await ManualHop.OpenAsync(chain.Node.ProxyAddresses["proxy1"], chain.Profile);

        var frame = kind switch
        {
            "garbage" => RandomNumberGenerator.GetBytes(512).Select((b, i) => i == 0 ? (byte)0x7f : b).ToArray(),
            "oversized" => OversizedHeader(),
            _ => [FrameCodec.Version, 0xEE, 0, 0, 0, 2, (byte)'{', (byte)'}'],
        };
        await hop.Tls.WriteAsync(frame);
        await hop.Tls.FlushAsync();

        var answer = await hop.TryReadAsync();
        if (answer is not null)
        {
            Assert.Equal("protocol-error", Assert.IsType<Refused>(answer).Code);
        }

        await Traffic.AssertClosedByPeerAsync(hop.Socket);
        await chain.Kit.AwaitAssertAsync(async () => Assert.Single((await chain.ProxyStatusAsync("proxy1")).Sessions), ChainFixture.Deadline);
        await healthy.AssertStillFlowsAsync();

        static byte[] OversizedHeader()
        {
            var header = new byte[FrameCodec.HeaderSize];
            header[0] = FrameCodec.Version;
            header[1] = 1;
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(2), 64 * 1024 * 1024);
            return header;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_that_says_nothing_is_dropped_after_the_handshake_deadline(bool afterTls)
    {
        // Long enough for the healthy chain to come up on a busy 2-core machine, short enough to keep the test quick.
        await using var chain = await ChainFixture.StartAsync(3, "actorvpn.data-plane.handshake-timeout = 2s");
        await using var healthy = await HealthySession.OpenAsync(chain);

        if (afterTls)
        {
            await using var hop = await ManualHop.OpenAsync(chain.Node.ProxyAddresses["proxy1"], chain.Profile);
            var answer = await hop.TryReadAsync();
            if (answer is not null)
            {
                Assert.Equal(ErrorCodes.Timeout, Assert.IsType<Refused>(answer).Code);
            }

            await Traffic.AssertClosedByPeerAsync(hop.Socket);
        }
        else
        {
            var entry = HostPort.Parse(chain.Node.ProxyAddresses["proxy1"]);
            using var silent = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await silent.ConnectAsync(entry.Host, entry.Port);
            await Traffic.AssertClosedByPeerAsync(silent);
        }

        await chain.Kit.AwaitAssertAsync(async () => Assert.Single((await chain.ProxyStatusAsync("proxy1")).Sessions), ChainFixture.Deadline);
        await healthy.AssertStillFlowsAsync();
    }

    /// <summary>A session of another user ("bob"), up before the test's bad client and checked after it.</summary>
    private sealed class HealthySession : IAsyncDisposable
    {
        private readonly EstablishedChain _chain;

        private HealthySession(EstablishedChain chain) => _chain = chain;

        public static async Task<HealthySession> OpenAsync(ChainFixture fixture)
        {
            var bob = await fixture.Node.EnrollUserAsync("bob", ChainFixture.Home);
            var session = new HealthySession(await fixture.DialAsync(bob));
            await Traffic.EchoAndVerifyAsync(session._chain.Tls, RandomNumberGenerator.GetBytes(32 * 1024), shutdown: null);
            return session;
        }

        public Task AssertStillFlowsAsync() => Traffic.EchoAndVerifyAsync(_chain.Tls, RandomNumberGenerator.GetBytes(256 * 1024), shutdown: null);

        public ValueTask DisposeAsync()
        {
            _chain.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
