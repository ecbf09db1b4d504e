using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Protocol;
using Xunit;
using static ActorVpn.HandOff.Tests.Patent;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.HandOff.Tests;

/// <summary>Fig. 8: the home server (steps 801-803, 811) and the held branch of step 801 (【0045】).</summary>
public sealed class Fig8HomeServerTests
{
    private static readonly SigningAuthority As1 = Authority("as1");
    private static readonly byte[] AliceDer = UserCertificate(As1, "alice");
    private static readonly KnownCertificate Alice = KnownCertificate.Read(AliceDer);

    [Fact]
    public void Step_702_the_home_server_refuses_a_user_it_never_registered()
    {
        var refusal = Fig8HomeServer.Standing(AuthServerState.Empty("as1"), Alice);
        Assert.Equal(ErrorCodes.UnknownUser, refusal?.Code);
        Assert.Equal(PatentStep.Fig7Check702, refusal?.Step);
        Assert.Equal("alice", refusal?.VerifiedUser);
    }

    [Fact]
    public void Step_702_the_home_server_refuses_a_revoked_user_as_revoked()
    {
        var state = Registered("as1", ("alice", AliceDer)).Apply(new UserRevoked("alice", Now, "operator"));
        var refusal = Fig8HomeServer.Standing(state, Alice);
        Assert.Equal(ErrorCodes.CertificateRevoked, refusal?.Code);
        Assert.Equal("alice", refusal?.VerifiedUser);
    }

    [Fact]
    public void Step_702_a_certificate_replaced_by_a_new_registration_no_longer_works()
    {
        var state = Registered("as1", ("alice", AliceDer), ("alice", UserCertificate(As1, "alice")));
        Assert.Equal(ErrorCodes.CertificateRevoked, Fig8HomeServer.Standing(state, Alice)?.Code);
        Assert.Null(Fig8HomeServer.Standing(Registered("as1", ("alice", AliceDer)), Alice));
    }

    [Fact]
    public void A_route_trace_runs_only_for_a_registered_user_that_is_not_revoked()
    {
        var registered = Registered("as1", ("alice", AliceDer));
        Assert.Null(Fig8HomeServer.TraceStanding(registered, "alice"));
        Assert.Equal(ErrorCodes.UnknownUser, Fig8HomeServer.TraceStanding(registered, "bob")?.Code);
        Assert.Equal(ErrorCodes.CertificateRevoked, Fig8HomeServer.TraceStanding(registered.Apply(new UserRevoked("alice", Now, "op")), "alice")?.Code);
    }

    [Fact]
    public void Step_802_an_unknown_destination_is_refused_before_any_look_up()
    {
        var refusal = Fig8HomeServer.Entry(Tables("as1"), "alice", "nowhere", "proxy1");
        Assert.Equal(ErrorCodes.UnknownDestination, refusal?.Code);
        Assert.Equal(PatentStep.Fig8LookUp802, refusal?.Step);
    }

    [Fact]
    public void Step_802_only_the_proxy_this_server_manages_for_the_destination_is_an_entry_Fig_3()
    {
        Assert.Null(Fig8HomeServer.Entry(Tables("as1"), "alice", "server", "proxy1"));
        var wrongProxy = Fig8HomeServer.Entry(Tables("as1"), "alice", "server", "proxy2");
        Assert.Equal(ErrorCodes.NoRoute, wrongProxy?.Code);
        Assert.Contains("relayed by proxy1, not by proxy2", wrongProxy?.Message);
        Assert.Equal(ErrorCodes.NoRoute, Fig8HomeServer.Entry(Tables("as4"), "alice", "server", "proxy1")?.Code); // as4 manages no relay proxy
    }

    [Fact]
    public void Step_802_the_home_server_calls_the_Fig_2_entry()
    {
        var call = Assert.IsType<Onward.Call>(Fig8HomeServer.Route(Tables("as1"), "alice", "server"));
        Assert.Equal("as2", call.Next);
        Assert.Equal([PatentStep.Fig8LookUp802], call.Steps.Select(s => s.Step));
    }

    [Fact]
    public void Step_803_without_a_Fig_2_entry_the_home_server_escalates_to_its_upper_server()
    {
        var call = Assert.IsType<Onward.Call>(Fig8HomeServer.Route(Tables("as2"), "alice", "server"));
        Assert.Equal("as4", call.Next);
        Assert.Equal([PatentStep.Fig8LookUp802, PatentStep.Fig8Escalate803], call.Steps.Select(s => s.Step));
    }

    [Fact]
    public void Step_811_at_once_when_the_entry_proxy_is_also_the_exit_proxy()
    {
        var end = Assert.IsType<Onward.End>(Fig8HomeServer.Route(Tables("as3"), "alice", "server"));
        Assert.Equal([PatentStep.Fig8LookUp802, PatentStep.Fig8Authenticated811], end.Steps.Select(s => s.Step));
    }

    [Fact]
    public void Step_803_no_entry_and_no_upper_server_is_no_route()
    {
        var refused = Assert.IsType<Onward.Refused>(Fig8HomeServer.Route(Lonely(), "alice", "server"));
        Assert.Equal(ErrorCodes.NoRoute, refused.Refusal.Code);
        Assert.Equal(PatentStep.Fig8Escalate803, refused.Refusal.Step);
        Assert.Equal(["lonely"], refused.Refusal.Path);
    }

    private static AuthenticateClient Hop(string? handOffId = "h1", string proxy = "proxy2", byte[]? der = null) =>
        new(proxy, der ?? AliceDer, "server", handOffId);

    private static HandOffLedger Holding(HeldCertificate held)
    {
        var ledger = new HandOffLedger();
        ledger.Hold(held);
        return ledger;
    }

    [Fact]
    public void Step_811_held_a_held_certificate_lets_its_hop_through_once_with_the_next_proxy_of_the_route()
    {
        var held = Held("h1", AliceDer);
        var use = Assert.IsType<HeldDecision.Use>(Fig8HomeServer.Held("as2", Holding(held), Hop(), Alice, Now, Hold));
        Assert.Equal(PatentStep.Fig8HeldUsed811, use.Step.Step);
        Assert.Equal("proxy3", use.Next?.Proxy);
    }

    [Fact]
    public void Step_811_held_at_the_exit_proxy_there_is_no_next_hop()
    {
        var held = Held("h1", AliceDer, relayProxy: "proxy3", route: [Entry("proxy3", "as3")]);
        var use = Assert.IsType<HeldDecision.Use>(Fig8HomeServer.Held("as3", Holding(held), Hop(proxy: "proxy3"), Alice, Now, Hold));
        Assert.Null(use.Next);
    }

    [Fact]
    public void Step_702_nothing_held_for_the_hand_off_is_an_unknown_user()
    {
        var refused = Assert.IsType<HeldDecision.Refused>(Fig8HomeServer.Held("as2", new HandOffLedger(), Hop(), Alice, Now, Hold));
        Assert.Equal(ErrorCodes.UnknownUser, refused.Refusal.Code);
        Assert.False(refused.DropHeld);
    }

    [Fact]
    public void Step_702_a_hold_that_expired_is_as_good_as_none()
    {
        var ledger = Holding(Held("h1", AliceDer, expiresAt: Now));
        Assert.Equal(ErrorCodes.UnknownUser, Assert.IsType<HeldDecision.Refused>(Fig8HomeServer.Held("as2", ledger, Hop(), Alice, Now, Hold)).Refusal.Code);
        Assert.IsType<HeldDecision.Use>(Fig8HomeServer.Held("as2", ledger, Hop(), Alice, Now.AddTicks(-1), Hold));
    }

    [Fact]
    public void Step_702_another_certificate_of_the_same_user_does_not_use_the_hold()
    {
        var other = UserCertificate(As1, "alice");
        var refused = Assert.IsType<HeldDecision.Refused>(Fig8HomeServer.Held("as2", Holding(Held("h1", AliceDer)), Hop(der: other), KnownCertificate.Read(other), Now, Hold));
        Assert.Equal(ErrorCodes.UnknownUser, refused.Refusal.Code);
        Assert.Contains("another certificate", refused.Refusal.Message);
    }

    [Fact]
    public void Step_702_a_hold_is_good_only_through_the_relay_proxy_it_was_made_for()
    {
        var refused = Assert.IsType<HeldDecision.Refused>(Fig8HomeServer.Held("as2", Holding(Held("h1", AliceDer)), Hop(proxy: "proxy3"), Alice, Now, Hold));
        Assert.Equal(ErrorCodes.NoRoute, refused.Refusal.Code);
    }

    [Fact]
    public void Step_702_an_expired_certificate_is_refused_and_its_hold_dropped_but_it_is_valid_through_NotAfter()
    {
        var expiring = UserCertificate(As1, "alice", notAfter: Now.AddMinutes(1));
        var known = KnownCertificate.Read(expiring);
        var notAfter = new DateTimeOffset(known.NotAfterUtc, TimeSpan.Zero);
        var ledger = Holding(Held("h1", expiring, expiresAt: notAfter.AddHours(1)));

        Assert.IsType<HeldDecision.Use>(Fig8HomeServer.Held("as2", ledger, Hop(der: expiring), known, notAfter, Hold));
        var refused = Assert.IsType<HeldDecision.Refused>(Fig8HomeServer.Held("as2", ledger, Hop(der: expiring), known, notAfter.AddTicks(1), Hold));
        Assert.Equal(ErrorCodes.CertificateExpired, refused.Refusal.Code);
        Assert.True(refused.DropHeld);
    }

    [Fact]
    public void Step_702_a_hop_of_a_hand_off_ended_by_revocation_is_told_revoked()
    {
        var ledger = new HandOffLedger();
        ledger.RememberRevoked("h1", new RevokedHandOff("alice", "as1", AliceDer, Now + Hold));
        var refused = Assert.IsType<HeldDecision.Refused>(Fig8HomeServer.Held("as2", ledger, Hop(), Alice, Now, Hold));
        Assert.Equal(ErrorCodes.CertificateRevoked, refused.Refusal.Code);
        Assert.Contains("revoked at as1", refused.Refusal.Message);
    }
}
