using ActorVpn.Protocol;
using ActorVpn.Testing;
using Xunit;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Chaos.Tests;

/// <summary>
/// A user revoked while its certificate 1 is still being handed off (Fig. 8/9): the entry proxy is waiting for its home
/// server's answer, and the servers on the way wait for the next one. The revocation ends the hand-off there and then.
/// </summary>
public sealed class RevocationInFlightTests
{
    private static readonly TimeSpan HeldBack = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task Revoking_a_user_whose_hand_off_is_in_flight_refuses_the_session_as_revoked_and_leaves_nothing_held()
    {
        // The hand-off timeout is well beyond the hold-back, so only the revocation can end this hand-off early.
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions { Config = "actorvpn.auth-server.handoff-timeout = 30s" });
        await scenario.EnrollAsync("alice");
        // as4's request reaches as3 (Fig. 7, step 701) and is held back there: as1, as2 and as4 wait for it meanwhile.
        scenario.Faults.Delay("as4", "as3", HeldBack);

        await using var session = await scenario.ConnectAsync("alice");
        var inFlight = await scenario.AwaitStepAsync("as3", PatentStep.Fig7Receive701);
        Assert.IsType<UserRevokedAck>(await scenario.Node.Control.AskAsync<object>("as1", new RevokeUser("alice")));

        // The home server refuses the waiting entry proxy with certificate-revoked (Fig. 7, step 704), well before the
        // held-back request would have let the hand-off finish, and the client's application connection is closed (【0053】).
        Assert.True(await session.ClosedByChainAsync(HeldBack), "the session was not closed by the revocation while its hand-off was in flight");
        var closed = await ClosedSessionAsync(scenario);
        Assert.Contains(ErrorCodes.CertificateRevoked, closed.Failure ?? string.Empty, StringComparison.Ordinal);

        // The released hand-off leaves nothing pending or held anywhere, also once as3 handles the request held back.
        await scenario.AwaitStepAsync("as3", PatentStep.Fig7Check702, within: HeldBack * 3, handOffId: inFlight.HandOffId);
        await scenario.AssertInvariantsAsync();
        Assert.Equal(0, scenario.DestinationConnections());
    }

    /// <summary>The client's record of its one session, once it has ended (the client reports it right after closing).</summary>
    private static async Task<Client.ClientProtocol.SessionClosed> ClosedSessionAsync(VpnScenario scenario)
    {
        var deadline = DateTime.UtcNow + VpnScenario.DefaultDeadline;
        while (scenario.ClosedSessions.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25);
        }

        return Assert.Single(scenario.ClosedSessions);
    }
}
