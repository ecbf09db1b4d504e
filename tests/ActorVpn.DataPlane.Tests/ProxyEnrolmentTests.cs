using ActorVpn.Proxies;
using ActorVpn.Topology;
using Akka.TestKit.Xunit2;
using Xunit;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.DataPlane.Tests;

/// <summary>
/// A proxy that does not come up in time is named with the reason it has no identity (a node that
/// cannot become ready says why, not a bare ask timeout).
/// </summary>
public sealed class ProxyEnrolmentTests() : TestKit("akka.loglevel = WARNING")
{
    // Long enough for nothing: the proxy in these tests never gets its identity, so the wait always ends by this timeout.
    private static readonly TimeSpan NeverListening = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task A_proxy_not_listening_in_time_is_named_with_its_last_enrolment_failure()
    {
        var authServer = CreateTestProbe();
        var proxy = Sys.ActorOf(ProxyActor.Props(new ProxySpec("proxy1", "as1", new HostPort("127.0.0.1", 0)), authServer.Ref, DataPlaneSettings.Default), "proxy1");
        await EventFilter.Warning(contains: "refused: not a member yet").ExpectOneAsync(async () =>
        {
            await authServer.ExpectMsgAsync<EnrollProxy>();
            authServer.Reply(new AdminRefused("not a member yet"));
        });

        // Its next request (after the back-off) is never answered: the proxy is still without an identity when the wait ends.
        var e = await Assert.ThrowsAsync<ProxyNotListeningException>(() => ProxyReadiness.AwaitListeningAsync(proxy, "proxy1", NeverListening));

        Assert.Equal("proxy1", e.Proxy);
        Assert.Contains("proxy proxy1 has no identity from as1 yet: 1 request(s) failed, the last with: refused: not a member yet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_proxy_whose_first_request_is_unanswered_says_its_auth_server_is_not_reachable()
    {
        var authServer = CreateTestProbe();
        var proxy = Sys.ActorOf(ProxyActor.Props(new ProxySpec("proxy2", "as4", new HostPort("127.0.0.1", 0)), authServer.Ref, DataPlaneSettings.Default), "proxy2");
        await authServer.ExpectMsgAsync<EnrollProxy>(); // and never answered, as when the auth server's group has no node yet

        var e = await Assert.ThrowsAsync<ProxyNotListeningException>(() => ProxyReadiness.AwaitListeningAsync(proxy, "proxy2", NeverListening));

        Assert.Contains("proxy proxy2 has no identity from as4 yet: its first request is unanswered", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_proxy_that_does_not_answer_at_all_is_named_as_such()
    {
        var e = await Assert.ThrowsAsync<ProxyNotListeningException>(
            () => ProxyReadiness.AwaitListeningAsync(Sys.ActorSelection("/user/proxies/proxy3"), "proxy3", NeverListening, answerWithin: NeverListening));

        Assert.StartsWith("proxy proxy3 was not listening within", e.Message, StringComparison.Ordinal);
        Assert.Contains(": proxy proxy3 did not answer within", e.Message, StringComparison.Ordinal);
    }
}
