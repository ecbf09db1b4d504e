using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.Protocol;
using Xunit;
using static ActorVpn.HandOff.Tests.Patent;

namespace ActorVpn.HandOff.Tests;

/// <summary>The hand-offs waiting for the next server (Fig. 8 steps 805-809 / Fig. 9 steps 905-909), each with whom to answer.</summary>
public sealed class PendingHandOffsTests
{
    private static readonly byte[] Der = [0x30, 0x02];

    private static PendingHandOff<string> Waiting(string handOffId = "h1", string next = "as4", bool fromClient = false, string user = "alice",
        IReadOnlyList<string>? path = null, DateTimeOffset? deadline = null) =>
        new(handOffId, $"caller of {handOffId}", fromClient, Der, user, "server", path ?? ["as1", "as2"], next, deadline ?? Now.AddSeconds(5),
            PatentStep.Fig9Receive901);

    [Theory]
    [InlineData(true, PatentStep.Fig8Connect805)]
    [InlineData(false, PatentStep.Fig9Connect905)]
    public void Steps_805_and_905_a_call_waits_at_its_connect_step_for_the_server_called(bool fromClient, PatentStep connect)
    {
        var ledger = new HandOffLedger<string>();
        Assert.Null(ledger.Call(Waiting(fromClient: fromClient), "as2"));
        Assert.Equal(connect, ledger.Pending["h1"].Step);
        Assert.Equal("caller of h1", ledger.AnsweredBy("h1", "as4")?.ReplyTo);
        Assert.Null(ledger.AnsweredBy("h1", "as3")); // an answer from a server this hand-off does not wait for
    }

    [Fact]
    public void Step_905_a_call_to_a_server_already_on_the_path_is_a_route_loop_and_nothing_waits()
    {
        var ledger = new HandOffLedger<string>();
        var loop = ledger.Call(Waiting(next: "as1"), "as2");
        Assert.Equal(ErrorCodes.RouteLoop, loop?.Code);
        Assert.Equal(PatentStep.Fig9Connect905, loop?.Step);
        Assert.Empty(ledger.Pending);
    }

    [Fact]
    public void A_failed_call_ends_the_wait_once()
    {
        var ledger = new HandOffLedger<string>();
        ledger.Call(Waiting(), "as2");
        Assert.Equal(["as1", "as2", "as4"], ledger.CallFailed("h1", "as4")?.PathToNext);
        Assert.Null(ledger.CallFailed("h1", "as4"));
        Assert.Empty(ledger.Pending);
    }

    [Fact]
    public void A_failure_of_a_call_the_hand_off_no_longer_waits_for_leaves_it_waiting()
    {
        var ledger = new HandOffLedger<string>();
        ledger.Call(Waiting(), "as2");
        Assert.Null(ledger.CallFailed("h1", "as3"));
        Assert.Equal("as4", ledger.Pending["h1"].Next);
    }

    [Fact]
    public void A_release_stops_the_wait_and_tells_the_server_called_first_then_the_holders()
    {
        var ledger = new HandOffLedger<string>();
        ledger.Call(Waiting(), "as2");
        ledger.Hold(Held("h1", Der) with { Holders = ["as2", "as3"] });
        var released = ledger.Release("h1", "as2");
        Assert.Equal(["as4", "as3"], released.TellHolders);
        Assert.Empty(ledger.Pending);
        Assert.Empty(ledger.Release("h1", "as2").TellHolders);
    }

    [Fact]
    public void A_revoked_hand_off_names_its_home_server_from_what_is_held_or_pending_here()
    {
        var ledger = new HandOffLedger<string>();
        ledger.Call(Waiting("pending", path: ["as9", "as2"]), "as2");
        ledger.Hold(Held("held", Der));
        ledger.RememberRevoked("pending", "alice", Now + Hold);
        ledger.RememberRevoked("held", "alice", Now + Hold);
        ledger.RememberRevoked("unknown", "alice", Now + Hold);
        Assert.Equal("as9", ledger.Revoked["pending"].Home);
        Assert.Equal("as1", ledger.Revoked["held"].Home);
        Assert.Equal(Der, ledger.Revoked["held"].CertificateDer); // a hop that comes with it is refused as revoked
        Assert.Equal("its home server", ledger.Revoked["unknown"].Home);
    }

    [Fact]
    public void A_revocation_ends_only_the_revoked_user_s_hand_offs_started_here_for_a_client()
    {
        var ledger = new HandOffLedger<string>();
        ledger.Call(Waiting("mine", fromClient: true), "as2");
        ledger.Call(Waiting("relayed", fromClient: false), "as2");
        ledger.Call(Waiting("bob's", fromClient: true, user: "bob"), "as2");
        Assert.Equal(["mine"], ledger.InFlightOf("alice").Select(p => p.HandOffId));
    }

    [Fact]
    public void A_call_whose_answer_never_came_is_taken_once_its_deadline_and_one_hand_off_timeout_are_past()
    {
        var ledger = new HandOffLedger<string>();
        ledger.Call(Waiting("late", deadline: Now), "as2");
        ledger.Call(Waiting("waiting", deadline: Now.AddSeconds(5)), "as2");
        Assert.Empty(ledger.TakeStale(Now.AddSeconds(4), TimeSpan.FromSeconds(5)));
        Assert.Equal(["late"], ledger.TakeStale(Now.AddSeconds(5), TimeSpan.FromSeconds(5)).Select(p => p.HandOffId));
        Assert.Equal(["waiting"], ledger.Pending.Keys);
    }
}
