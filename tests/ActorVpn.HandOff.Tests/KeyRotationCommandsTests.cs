using ActorVpn.AuthServers;
using ActorVpn.AuthServers.State;
using Xunit;
using static ActorVpn.AuthServers.KeyRotationProtocol;
using static ActorVpn.HandOff.Tests.Patent;

namespace ActorVpn.HandOff.Tests;

/// <summary>The phases of a signing-key rotation, decided on the state: start, switch, finish, or roll back.</summary>
public sealed class KeyRotationCommandsTests
{
    private static readonly AuthServerState Standby = AuthServerState.Empty("as2");

    private static readonly AuthServerState Started = Standby.Apply(new KeyRotationStarted([1], [2], KeyIsProtected: false, Now, "op"));

    [Fact]
    public void Switching_waits_for_a_credential_for_the_new_key_from_every_server_that_trusts_this_one()
    {
        // as4 trusts as2 (the example's trusts lists): until as4 issued a credential for the new key, as2 cannot prove it.
        Assert.Contains("holds no credential for its new key from as4", KeyRotationCommands.Refusal(Started, Example, new SwitchSigningKey("op")));
        var credited = Started.Apply(new PeerCredentialReceived("as4", [3], ForNextKey: true));
        Assert.Null(KeyRotationCommands.Refusal(credited, Example, new SwitchSigningKey("op")));
        Assert.IsType<SigningKeySwitched>(KeyRotationCommands.PhaseEvent("as2", new SwitchSigningKey("op"), Now).Event);
    }

    [Fact]
    public void The_phases_come_in_order()
    {
        Assert.Contains("begin with `auth rotate as2 start`", KeyRotationCommands.Refusal(Standby, Example, new FinishKeyRotation("op")));
        Assert.Contains("`auth rotate as2 switch` comes before `finish`", KeyRotationCommands.Refusal(Started, Example, new FinishKeyRotation("op")));
        Assert.Contains("already rotating", KeyRotationCommands.Refusal(Started, Example, new StartKeyRotation("op")));
        Assert.Null(KeyRotationCommands.Refusal(Standby, Example, new StartKeyRotation("op")));
    }

    [Fact]
    public void Only_a_rotation_in_progress_can_be_rolled_back()
    {
        Assert.Contains("nothing to roll back", KeyRotationCommands.Refusal(Standby, Example, new RollBackKeyRotation("op")));
        Assert.Null(KeyRotationCommands.Refusal(Started, Example, new RollBackKeyRotation("op")));
    }
}
