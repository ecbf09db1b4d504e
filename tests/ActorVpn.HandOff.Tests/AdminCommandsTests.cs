using ActorVpn.AuthServers;
using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.AuthServers.State;
using ActorVpn.Protocol;
using Xunit;
using static ActorVpn.HandOff.Tests.Patent;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.HandOff.Tests;

/// <summary>The administrative commands an auth server decides on its state: the reply and the events to persist.</summary>
public sealed class AdminCommandsTests
{
    private static readonly AuthServerState As1 = Registered("as1", ("alice", UserCertificate(Authority("as1"), "alice")));

    private static AdminCommands.Outcome Process(AuthServerState state, Messaging.IActorVpnMessage command, bool rotating = false) =>
        AdminCommands.ProcessCommand(state, Example, command, Now, rotating);

    [Fact]
    public void Revoking_a_registered_user_persists_the_revocation_before_the_acknowledgement()
    {
        var outcome = Process(As1, new RevokeUser("alice", "operator"));
        Assert.Equal(new UserRevokedAck("alice"), outcome.Reply);
        Assert.Equal([new UserRevoked("alice", Now, "operator")], outcome.Events);
    }

    [Fact]
    public void Revoking_a_user_that_is_not_registered_here_is_refused_and_persists_nothing()
    {
        var outcome = Process(As1, new RevokeUser("bob"));
        Assert.Equal(new AdminRefused("user 'bob' is not registered at as1"), outcome.Reply);
        Assert.Empty(outcome.Events);
    }

    [Fact]
    public void A_credential_for_a_new_key_is_accepted_only_during_a_rotation()
    {
        var accept = new AcceptPeerCredential("as2", [1], ForNextKey: true);
        Assert.IsType<AdminRefused>(Process(As1, accept).Reply);
        var rotating = Process(As1, accept, rotating: true);
        Assert.Equal(new PeerCredentialAccepted("as2"), rotating.Reply);
        Assert.Equal([new PeerCredentialReceived("as2", accept.CertificateDer, true)], rotating.Events);
    }

    [Fact]
    public void Inspections_answer_from_the_state_and_persist_nothing()
    {
        var found = Process(As1, new FindUser("alice"));
        Assert.Equal("alice", Assert.IsType<UserView>(found.Reply).Name);
        Assert.Empty(found.Events);
        Assert.IsType<AdminRefused>(Process(As1, new FindUser("bob")).Reply);
        Assert.IsType<AdminRefused>(Process(As1, new FindProxy("proxy1")).Reply); // not enrolled yet
        var enrolled = As1.Apply(new ProxyEnrolled("proxy1", [], "pin", "10.0.0.1:7101"));
        Assert.Equal(new ProxyEnrolment("proxy1", "10.0.0.1:7101"), Process(enrolled, new FindProxy("proxy1")).Reply);
    }

    [Fact]
    public void Commands_that_need_the_key_are_refused_first_when_the_state_forbids_them()
    {
        Assert.NotNull(AdminCommands.Refusal(As1, Example.AuthServer("as1"), Example, new RegisterUser("no spaces", [])));
        Assert.Null(AdminCommands.Refusal(As1, Example.AuthServer("as1"), Example, new RegisterUser("bob", [])));
        Assert.Equal(new AdminRefused("as1 does not trust as3 (not in its 'trusts' list)"),
            AdminCommands.Refusal(As1, Example.AuthServer("as1"), Example, new IssuePeerCredential("as3", [])));
        Assert.Equal(new AdminRefused("proxy 'proxy2' does not belong to as1"),
            AdminCommands.Refusal(As1, Example.AuthServer("as1"), Example, new EnrollProxy("proxy2", [])));
    }

    [Fact]
    public void The_status_lists_held_certificates_oldest_first_and_counts_the_hand_offs_waiting()
    {
        var ledger = new HandOffLedger();
        ledger.Hold(Held("later", [1]) with { HeldSince = Now.AddSeconds(1) });
        ledger.Hold(Held("first", [1]));
        var status = AdminCommands.Status(As1, Example.AuthServer("as1"), [], ledger, pendingHandOffs: 2);
        Assert.Equal(["first", "later"], status.Held.Select(h => h.HandOffId));
        Assert.Equal(2, status.PendingHandOffs);
        Assert.Equal(["alice"], status.Users.Select(u => u.Name));
    }
}
