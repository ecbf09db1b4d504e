using ActorVpn.AuthServers.HandOff.Core;
using Xunit;
using static ActorVpn.HandOff.Tests.Patent;

namespace ActorVpn.HandOff.Tests;

/// <summary>What an auth server holds for a few seconds: held certificates (【0045】), challenges, issued routes, releases (【0053】).</summary>
public sealed class HandOffLedgerTests
{
    private static readonly byte[] Der = [0x30, 0x02];

    [Fact]
    public void A_held_certificate_is_used_once_then_discarded()
    {
        var ledger = new HandOffLedger();
        ledger.Hold(Held("h1", Der));
        Assert.Equal("h1", ledger.Drop("h1")?.HandOffId);
        Assert.Null(ledger.HeldFor("h1", Now));
        Assert.Null(ledger.Drop("h1"));
    }

    [Fact]
    public void A_release_drops_the_certificate_here_and_tells_the_other_holders_and_those_behind_a_forward()
    {
        var ledger = new HandOffLedger();
        ledger.Hold(Held("h1", Der) with { Holders = ["as2", "as3"] });
        ledger.Forward("h1", new IssuedRoute(["as5"], Now + Hold));
        var released = ledger.Release("h1", "as2");
        Assert.Equal(["as3", "as5"], released.TellHolders);
        Assert.Equal("h1", released.Dropped?.HandOffId);
        Assert.Empty(ledger.Held);
        Assert.Empty(ledger.Forwarded);
        Assert.Empty(ledger.Release("h1", "as2").TellHolders); // released once
    }

    [Fact]
    public void Expiry_drops_what_is_past_its_time_and_keeps_the_rest()
    {
        var ledger = new HandOffLedger();
        ledger.Hold(Held("old", Der, expiresAt: Now));
        ledger.Hold(Held("new", Der, expiresAt: Now.AddSeconds(1)));
        ledger.Challenge([1], new OpenChallenge("as1", "old", Der, Now));
        ledger.Issue("old", new IssuedRoute(["as2"], Now, "alice"));
        ledger.Forward("old", new IssuedRoute(["as3"], Now));
        ledger.RememberRevoked("old", new RevokedHandOff("alice", "as1", null, Now));
        var expired = ledger.Expire(Now);
        Assert.Equal(["old"], expired.Dropped.Select(h => h.HandOffId));
        Assert.Equal(["new"], ledger.Held.Keys);
        Assert.Empty(ledger.Challenges);
        Assert.Empty(ledger.Issued);
        Assert.Empty(ledger.Forwarded);
        Assert.Empty(ledger.Revoked);
        Assert.Equal(["new"], ledger.Expire(Now.AddSeconds(1)).Dropped.Select(h => h.HandOffId));
    }

    [Fact]
    public void Expiry_follows_each_entry_s_own_time_whatever_the_order_they_were_made_in()
    {
        var ledger = new HandOffLedger();
        ledger.Hold(Held("late", Der, expiresAt: Now.AddSeconds(3)));
        ledger.Hold(Held("early", Der, expiresAt: Now.AddSeconds(1)));
        Assert.Equal(["early"], ledger.Expire(Now.AddSeconds(2)).Dropped.Select(h => h.HandOffId));
        Assert.Equal(["late"], ledger.Held.Keys);
    }

    [Fact]
    public void Expiry_neither_drops_a_hold_renewed_for_longer_nor_reports_one_used_before_its_time()
    {
        var ledger = new HandOffLedger();
        ledger.Hold(Held("renewed", Der, expiresAt: Now));
        ledger.Hold(Held("renewed", Der, expiresAt: Now.AddSeconds(5)));
        ledger.Hold(Held("used", Der, expiresAt: Now));
        ledger.Drop("used");
        Assert.Empty(ledger.Expire(Now).Dropped);
        Assert.Equal(["renewed"], ledger.Held.Keys);
    }

    [Fact]
    public void Many_holds_used_before_their_time_expire_without_dropping_the_ones_still_waiting()
    {
        var ledger = new HandOffLedger();
        for (var i = 0; i < 5_000; i++)
        {
            ledger.Hold(Held($"used{i}", Der, expiresAt: Now.AddSeconds(1)));
            ledger.Drop($"used{i}");
        }

        ledger.Hold(Held("waiting", Der, expiresAt: Now.AddSeconds(2)));
        Assert.Empty(ledger.Expire(Now.AddSeconds(1)).Dropped);
        Assert.Equal(["waiting"], ledger.Held.Keys);
        Assert.Equal(["waiting"], ledger.Expire(Now.AddSeconds(2)).Dropped.Select(h => h.HandOffId));
    }

    [Fact]
    public void A_challenge_is_answered_once_by_its_caller_for_its_hand_off_before_it_expires()
    {
        static HandOffLedger Challenged()
        {
            var ledger = new HandOffLedger();
            ledger.Challenge([1], new OpenChallenge("as1", "h1", Der, Now.AddSeconds(1)));
            return ledger;
        }

        var ledger = Challenged();
        Assert.NotNull(ledger.TakeChallenge([1], "as1", "h1", Now));
        Assert.Null(ledger.TakeChallenge([1], "as1", "h1", Now)); // a replayed proof finds no open nonce

        var wrongCaller = Challenged();
        Assert.Null(wrongCaller.TakeChallenge([1], "as9", "h1", Now));
        Assert.Empty(wrongCaller.Challenges); // a wrong answer uses it up too
        Assert.Null(Challenged().TakeChallenge([1], "as1", "h2", Now));
        Assert.Null(Challenged().TakeChallenge([1], "as1", "h1", Now.AddSeconds(1)));
        Assert.Null(Challenged().TakeChallenge([2], "as1", "h1", Now));
    }

    [Fact]
    public void A_session_that_ends_releases_the_holders_of_its_route_once()
    {
        var ledger = new HandOffLedger();
        ledger.Issue("h1", new IssuedRoute(["as2", "as3"], Now + Hold, "alice"));
        Assert.Equal(["as2", "as3"], ledger.EndSession("h1")?.Holders);
        Assert.Null(ledger.EndSession("h1"));
    }

    [Fact]
    public void A_revoked_user_s_issued_routes_end_at_once_and_no_one_else_s()
    {
        var ledger = new HandOffLedger();
        ledger.Issue("a1", new IssuedRoute(["as2"], Now + Hold, "alice"));
        ledger.Issue("b1", new IssuedRoute(["as3"], Now + Hold, "bob"));
        ledger.Issue("a2", new IssuedRoute(["as4"], Now + Hold, "alice"));
        Assert.Equal(["a1", "a2"], ledger.EndSessionsOf("alice").Select(e => e.HandOffId).Order());
        Assert.Equal(["b1"], ledger.Issued.Keys);
        Assert.Empty(ledger.EndSessionsOf("alice"));
    }

    [Fact]
    public void The_first_reason_a_hand_off_was_revoked_is_kept()
    {
        var ledger = new HandOffLedger();
        ledger.RememberRevoked("h1", new RevokedHandOff("alice", "as1", Der, Now));
        ledger.RememberRevoked("h1", new RevokedHandOff("alice", "its home server", null, Now));
        Assert.Equal("as1", ledger.Revoked["h1"].Home);
    }
}
