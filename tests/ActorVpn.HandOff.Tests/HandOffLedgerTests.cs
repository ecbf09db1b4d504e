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
        var ledger = HandOffLedger.Empty.Hold(Held("h1", Der));
        var (after, dropped) = ledger.Drop("h1");
        Assert.Equal("h1", dropped?.HandOffId);
        Assert.Null(after.HeldFor("h1", Now));
        Assert.Null(after.Drop("h1").Dropped);
    }

    [Fact]
    public void A_release_drops_the_certificate_here_and_tells_the_other_holders_and_those_behind_a_forward()
    {
        var ledger = HandOffLedger.Empty.Hold(Held("h1", Der) with { Holders = ["as2", "as3"] })
            .Forward("h1", new IssuedRoute(["as5"], Now + Hold));
        var (after, released) = ledger.Release("h1", "as2");
        Assert.Equal(["as3", "as5"], released.TellHolders);
        Assert.Equal("h1", released.Dropped?.HandOffId);
        Assert.Empty(after.Held);
        Assert.Empty(after.Forwarded);
    }

    [Fact]
    public void Expiry_drops_what_is_past_its_time_and_keeps_the_rest()
    {
        var ledger = HandOffLedger.Empty
            .Hold(Held("old", Der, expiresAt: Now))
            .Hold(Held("new", Der, expiresAt: Now.AddSeconds(1)))
            .Challenge([1], new OpenChallenge("as1", "old", Der, Now))
            .Issue("old", new IssuedRoute(["as2"], Now, "alice"))
            .Forward("old", new IssuedRoute(["as3"], Now))
            .RememberRevoked("old", new RevokedHandOff("alice", "as1", null, Now));
        var (after, expired) = ledger.Expire(Now);
        Assert.Equal(["old"], expired.Dropped.Select(h => h.HandOffId));
        Assert.Equal(["new"], after.Held.Keys);
        Assert.Empty(after.Challenges);
        Assert.Empty(after.Issued);
        Assert.Empty(after.Forwarded);
        Assert.Empty(after.Revoked);
    }

    [Fact]
    public void A_challenge_is_answered_once_by_its_caller_for_its_hand_off_before_it_expires()
    {
        var ledger = HandOffLedger.Empty.Challenge([1], new OpenChallenge("as1", "h1", Der, Now.AddSeconds(1)));
        var (used, challenge) = ledger.TakeChallenge([1], "as1", "h1", Now);
        Assert.NotNull(challenge);
        Assert.Null(used.TakeChallenge([1], "as1", "h1", Now).Challenge); // a replayed proof finds no open nonce

        Assert.Null(ledger.TakeChallenge([1], "as9", "h1", Now).Challenge);
        Assert.Empty(ledger.TakeChallenge([1], "as9", "h1", Now).Ledger.Challenges); // a wrong answer uses it up too
        Assert.Null(ledger.TakeChallenge([1], "as1", "h2", Now).Challenge);
        Assert.Null(ledger.TakeChallenge([1], "as1", "h1", Now.AddSeconds(1)).Challenge);
    }

    [Fact]
    public void A_session_that_ends_releases_the_holders_of_its_route_once()
    {
        var ledger = HandOffLedger.Empty.Issue("h1", new IssuedRoute(["as2", "as3"], Now + Hold, "alice"));
        var (after, route) = ledger.EndSession("h1");
        Assert.Equal(["as2", "as3"], route?.Holders);
        Assert.Null(after.EndSession("h1").Route);
    }

    [Fact]
    public void The_first_reason_a_hand_off_was_revoked_is_kept()
    {
        var ledger = HandOffLedger.Empty
            .RememberRevoked("h1", new RevokedHandOff("alice", "as1", Der, Now))
            .RememberRevoked("h1", new RevokedHandOff("alice", "its home server", null, Now));
        Assert.Equal("as1", ledger.Revoked["h1"].Home);
    }
}
