using System.Net.Sockets;
using ActorVpn.Client;
using Akka.Actor;
using Xunit;

namespace ActorVpn.DataPlane.Tests;

/// <summary>Any failure closes everything built for that session, hop by hop (【0053】).</summary>
public sealed class TeardownTests
{
    [Fact]
    public async Task Killing_the_middle_proxy_connection_mid_stream_closes_the_client_and_every_session_of_the_chain()
    {
        await using var chain = await ChainFixture.StartAsync(3);
        var closed = chain.Kit.CreateTestProbe();
        chain.Node.System.EventStream.Subscribe(closed.Ref, typeof(ClientProtocol.SessionClosed));

        using var socket = await chain.OpenLocalAsync();
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        // Mid-stream: data has gone through and come back, the write side is still open.
        await Traffic.EchoAndVerifyAsync(stream, new byte[128 * 1024], shutdown: null);

        var middle = await chain.ProxyStatusAsync("proxy2");
        var session = Assert.Single(middle.Sessions);
        Assert.Equal("relaying", session.Stage);
        chain.Node.System.ActorSelection($"/user/proxies/proxy2/{session.Id}").Tell(PoisonPill.Instance);

        await Traffic.AssertClosedByPeerAsync(socket);
        var ended = await closed.ExpectMsgAsync<ClientProtocol.SessionClosed>(ChainFixture.Deadline);
        Assert.Equal(ChainFixture.Destination, ended.Destination);
        Assert.NotNull(ended.Failure); // the reason is reported, not a clean end
        await chain.AwaitIdleAsync();
    }

    [Fact]
    public async Task Closing_a_hand_off_at_the_entry_proxy_closes_the_client()
    {
        await using var chain = await ChainFixture.StartAsync(3);
        using var built = await chain.DialAsync();
        await Traffic.EchoAndVerifyAsync(built.Tls, new byte[64 * 1024], shutdown: null);

        chain.Node.System.ActorSelection("/user/proxies/proxy1").Tell(new Proxies.ProxyProtocol.CloseSession(built.HandOffId, "operator kill"));

        await Traffic.AssertClosedByPeerAsync(built.Socket);
        await chain.AwaitIdleAsync();
    }
}
