using System.Text.Json;
using ActorVpn.Client;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Protocol;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>
/// <c>auth rotate AS start|switch|finish|rollback|status</c> through the operator console on the patent's example: users
/// keep connecting through the chain while an auth server's signing key is rotated, and only what the retired key alone
/// signed is refused at the end.
/// </summary>
public sealed class KeyRotationTests
{
    [Fact]
    public async Task Users_keep_connecting_through_every_phase_and_finish_refuses_a_certificate_of_the_old_key()
    {
        await using var system = await ConsoleFixture.StartAsync(); // alice enrolled at as1 before any rotation
        await EchoAsync(system, system.Alice);

        await RotateAsync(system, "as1", "start");
        await EchoAsync(system, system.Alice);                                  // the overlap: the old key still signs
        var bob = await system.Scenario.EnrollAsync("bob", "as1");              // a certificate of the old key, and both anchors

        await RotateAsync(system, "as1", "switch");
        await EchoAsync(system, system.Alice);                                  // the old key still verifies
        await EchoAsync(system, bob);
        var carol = await system.Scenario.EnrollAsync("carol", "as1");          // a certificate of the new key
        Assert.NotNull(carol.NextTrustAnchorPem);
        await EchoAsync(system, carol);

        var finish = await RotateAsync(system, "as1", "finish");
        Assert.Contains("proxy1", finish.GetProperty("proxiesRenewed").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal("standby", finish.GetProperty("status").GetProperty("phase").GetString());
        Assert.Empty(finish.GetProperty("status").GetProperty("proxiesOnOldKey").EnumerateArray());

        await EchoAsync(system, carol);                                         // enrolled after the switch: connects after finish

        // Signed only by the retired key: refused by the home server, saying so (Fig. 7, step 702).
        var refused = await Assert.ThrowsAsync<ChainException>(() => DialAsync(bob));
        Assert.Equal(ErrorCodes.CertificateRevoked, refused.Code);
        Assert.Equal("as1", refused.Hop);
        Assert.Contains("retired", refused.Reason, StringComparison.Ordinal);

        // A profile written before the rotation knows only the old anchor: its client no longer accepts the entry proxy.
        Assert.Equal(ErrorCodes.UntrustedPeer, (await Assert.ThrowsAsync<ChainException>(() => DialAsync(system.Alice))).Code);

        // Each phase is an operator action on the record, under the operator's name.
        var audit = (await system.RunAsync("audit", "tail", "--lines", "50")).Output;
        foreach (var phase in new[] { "start", "switch", "finish" })
        {
            Assert.Contains($"ok      auth rotate {phase} user - by operator at as1", audit, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Rotating_a_server_in_the_middle_of_the_chain_keeps_hand_offs_working_both_ways()
    {
        // as2 calls as4 with a credential as4 issued for as2's key, and is called by as1 with one as2 signed (【0023】).
        await using var system = await ConsoleFixture.StartAsync();
        foreach (var phase in new[] { "start", "switch", "finish" })
        {
            await RotateAsync(system, "as2", phase);
            await EchoAsync(system, system.Alice);
        }

        var status = await RotateAsync(system, "as2", "status");
        Assert.Single(status.GetProperty("status").GetProperty("retiredAnchorsSha256").EnumerateArray());
        Assert.True((await system.Scenario.TraceAsync("alice")).Ok);
    }

    [Fact]
    public async Task A_rollback_after_the_switch_restores_the_old_key()
    {
        await using var system = await ConsoleFixture.StartAsync();
        var before = (await RotateAsync(system, "as1", "status")).GetProperty("status").GetProperty("currentAnchorSha256").GetString();

        await RotateAsync(system, "as1", "start");
        await RotateAsync(system, "as1", "switch");
        var dave = await system.Scenario.EnrollAsync("dave", "as1");            // a certificate of the new key
        await EchoAsync(system, dave);

        var rolledBack = (await RotateAsync(system, "as1", "rollback")).GetProperty("status");
        Assert.Equal("standby", rolledBack.GetProperty("phase").GetString());
        Assert.Equal(before, rolledBack.GetProperty("currentAnchorSha256").GetString());
        Assert.Equal(JsonValueKind.Null, rolledBack.GetProperty("nextAnchorSha256").ValueKind);

        await EchoAsync(system, system.Alice);                                  // the old key signs and verifies as before
        var erin = await system.Scenario.EnrollAsync("erin", "as1");
        Assert.Null(erin.NextTrustAnchorPem);
        await EchoAsync(system, erin);
        Assert.Equal(ErrorCodes.CertificateRevoked, (await Assert.ThrowsAsync<ChainException>(() => DialAsync(dave))).Code);

        // A rotation can start again after a rollback.
        await RotateAsync(system, "as1", "start");
        await EchoAsync(system, system.Alice);
    }

    [Fact]
    public async Task Status_is_an_inspection_that_changes_nothing()
    {
        await using var system = await ConsoleFixture.StartAsync();
        var standby = (await system.RunAsync("auth", "rotate", "as1", "status", "--json")).Output;
        Assert.Equal(standby, (await system.RunAsync("auth", "rotate", "as1", "status", "--json")).Output);
        Assert.Equal("standby", JsonDocument.Parse(standby).RootElement.GetProperty("status").GetProperty("phase").GetString());

        await RotateAsync(system, "as1", "start");
        var started = (await system.RunAsync("auth", "rotate", "as1", "status", "--json")).Output;
        Assert.Equal(started, (await system.RunAsync("auth", "rotate", "as1", "status", "--json")).Output);
        Assert.Equal("started", JsonDocument.Parse(started).RootElement.GetProperty("status").GetProperty("phase").GetString());
        await EchoAsync(system, system.Alice);

        var text = await system.RunAsync("auth", "rotate", "as1", "status");
        Assert.Contains("phase started", text.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("auth rotate status", (await system.RunAsync("audit", "tail")).Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "auth", "rotate", "as9", "start" }, ConsoleReply.Failed, "no auth server 'as9'")]
    [InlineData(new[] { "auth", "rotate", "as1", "spin" }, ConsoleReply.Usage, "unknown phase 'spin'")]
    [InlineData(new[] { "auth", "rotate", "as1" }, ConsoleReply.Usage, "takes an auth server and a phase")]
    [InlineData(new[] { "auth", "rotate", "as1", "switch" }, ConsoleReply.Failed, "as1 is not rotating its signing key: begin with `auth rotate as1 start`")]
    [InlineData(new[] { "auth", "rotate", "as1", "finish" }, ConsoleReply.Failed, "as1 is not rotating its signing key")]
    [InlineData(new[] { "auth", "rotate", "as1", "rollback" }, ConsoleReply.Failed, "nothing to roll back")]
    public async Task Bad_input_gets_a_clear_error(string[] words, int exit, string error)
    {
        await using var system = await ConsoleFixture.StartAsync();
        var reply = await system.RunAsync(words);
        Assert.Equal(exit, reply.Exit);
        Assert.Contains(error, reply.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Phases_out_of_order_are_refused_and_change_nothing()
    {
        await using var system = await ConsoleFixture.StartAsync();
        await RotateAsync(system, "as1", "start");

        var again = await system.RunAsync("auth", "rotate", "as1", "start");
        Assert.Equal(ConsoleReply.Failed, again.Exit);
        Assert.Contains("already rotating its signing key (phase started", again.Error, StringComparison.Ordinal);

        var early = await system.RunAsync("auth", "rotate", "as1", "finish");
        Assert.Equal(ConsoleReply.Failed, early.Exit);
        Assert.Contains("has not switched to its new key yet", early.Error, StringComparison.Ordinal);

        Assert.Equal("started", (await RotateAsync(system, "as1", "status")).GetProperty("status").GetProperty("phase").GetString());
        await EchoAsync(system, system.Alice);
        Assert.Contains("error   auth rotate finish user - by operator at as1", (await system.RunAsync("audit", "tail")).Output, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> RotateAsync(ConsoleFixture system, string server, string phase)
    {
        var reply = await system.RunAsync("auth", "rotate", server, phase, "--json");
        Assert.True(reply.Exit == ConsoleReply.Ok, $"auth rotate {server} {phase}: {reply.Error}");
        return JsonDocument.Parse(reply.Output).RootElement;
    }

    /// <summary>A session through the chain for <paramref name="profile"/>, bytes both ways.</summary>
    private static async Task EchoAsync(ConsoleFixture system, ClientProfile profile)
    {
        using var socket = await system.OpenLocalAsync(profile);
        await Traffic.EchoAsync(socket);
    }

    private static async Task DialAsync(ClientProfile profile)
    {
        using var chain = await ChainDialer.BuildAsync(profile, ConsoleFixture.Destination, ConsoleFixture.Deadline, TimeProvider.System, CancellationToken.None);
    }
}
