using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Protocol;
using Xunit;
using static ActorVpn.HandOff.Tests.Patent;
using static ActorVpn.Protocol.HandOffProtocol;

namespace ActorVpn.HandOff.Tests;

/// <summary>Fig. 9: a relay server checks its caller (Fig. 7 step 702 / step 906), receives certificate 1 (901) and looks up the next server (902-904).</summary>
public sealed class Fig9RelayServerTests
{
    private static readonly SigningAuthority As1 = Authority("as1");
    private static readonly SigningAuthority As2 = Authority("as2");
    private static readonly byte[] AliceDer = UserCertificate(As1, "alice");

    private static HandOffCertificate Certificate(IReadOnlyList<string> path, string destination = "server", byte[]? der = null) =>
        new("as1", new HandOffId("h1"), der ?? AliceDer, new UserName("alice"), destination, path, [1, 2, 3], [], TimeSpan.FromSeconds(5));

    [Fact]
    public void Step_902_a_relay_server_calls_its_Fig_2_entry()
    {
        var go = Assert.IsType<RelayDecision.Go>(Fig9RelayServer.Receive(Tables("as4"), new HandOffLedger(), Certificate(["as1", "as2"]), Now));
        Assert.Equal(PatentStep.Fig9LookUp902, go.LookUp.Step);
        Assert.Equal("as3", Assert.IsType<Onward.Call>(go.Onward).Next);
        Assert.Empty(go.Onward.Steps);
    }

    [Fact]
    public void Step_903_a_relay_server_without_a_Fig_2_entry_escalates_to_its_upper_server()
    {
        var go = Assert.IsType<RelayDecision.Go>(Fig9RelayServer.Receive(Tables("as2"), new HandOffLedger(), Certificate(["as1"]), Now));
        var call = Assert.IsType<Onward.Call>(go.Onward);
        Assert.Equal("as4", call.Next);
        Assert.Equal([PatentStep.Fig9Escalate903], call.Steps.Select(s => s.Step));
    }

    [Fact]
    public void Step_902_End_means_this_server_relays_to_the_destination_itself()
    {
        var go = Assert.IsType<RelayDecision.Go>(Fig9RelayServer.Receive(Tables("as3"), new HandOffLedger(), Certificate(["as1", "as2", "as4"]), Now));
        Assert.IsType<Onward.End>(go.Onward);
    }

    [Fact]
    public void Step_903_no_entry_and_no_upper_server_is_no_route_with_the_whole_path()
    {
        var go = Assert.IsType<RelayDecision.Go>(Fig9RelayServer.Receive(Lonely(), new HandOffLedger(), Certificate(["as1"]), Now));
        var refused = Assert.IsType<Onward.Refused>(go.Onward);
        Assert.Equal(ErrorCodes.NoRoute, refused.Refusal.Code);
        Assert.Equal(PatentStep.Fig9Escalate903, refused.Refusal.Step);
        Assert.Equal(["as1", "lonely"], refused.Refusal.Path);
    }

    [Fact]
    public void Step_901_a_certificate_that_already_visited_this_server_is_a_route_loop()
    {
        var refused = Assert.IsType<RelayDecision.Refused>(Fig9RelayServer.Receive(Tables("as2"), new HandOffLedger(), Certificate(["as1", "as2", "as4"]), Now));
        Assert.Equal(ErrorCodes.RouteLoop, refused.Refusal.Code);
        Assert.Equal(PatentStep.Fig9Receive901, refused.Refusal.Step);
    }

    [Fact]
    public void Step_902_an_unknown_destination_is_refused()
    {
        var refused = Assert.IsType<RelayDecision.Refused>(Fig9RelayServer.Receive(Tables("as2"), new HandOffLedger(), Certificate(["as1"], "nowhere"), Now));
        Assert.Equal(ErrorCodes.UnknownDestination, refused.Refusal.Code);
        Assert.Equal(PatentStep.Fig9LookUp902, refused.Refusal.Step);
    }

    [Fact]
    public void Step_901_an_expired_certificate_1_is_refused_after_its_NotAfter_not_at_it()
    {
        var expiring = UserCertificate(As1, "alice", notAfter: Now.AddMinutes(1));
        var notAfter = new DateTimeOffset(KnownCertificate.Read(expiring).NotAfterUtc, TimeSpan.Zero);
        Assert.IsType<RelayDecision.Go>(Fig9RelayServer.Receive(Tables("as2"), new HandOffLedger(), Certificate(["as1"], der: expiring), notAfter));
        var refused = Assert.IsType<RelayDecision.Refused>(Fig9RelayServer.Receive(Tables("as2"), new HandOffLedger(), Certificate(["as1"], der: expiring), notAfter.AddSeconds(1)));
        Assert.Equal(ErrorCodes.CertificateExpired, refused.Refusal.Code);
    }

    [Fact]
    public void Step_901_a_hand_off_whose_user_was_revoked_meanwhile_is_refused_as_revoked()
    {
        var ledger = new HandOffLedger();
        ledger.RememberRevoked("h1", new RevokedHandOff("alice", "as1", null, Now + Hold));
        var revoked = Assert.IsType<RelayDecision.Revoked>(Fig9RelayServer.Receive(Tables("as2"), ledger, Certificate(["as1"]), Now));
        Assert.Equal(ErrorCodes.CertificateRevoked, revoked.Refusal.Code);
    }

    [Theory]
    [InlineData(PatentStep.Fig8Connect805)]
    [InlineData(PatentStep.Fig9Connect905)]
    public void Steps_805_and_905_handing_on_to_a_server_already_visited_is_a_route_loop(PatentStep connect)
    {
        var loop = RouteLookUp.LoopTo("as4", "as2", ["as1", "as2", "as4"], connect);
        Assert.Equal(ErrorCodes.RouteLoop, loop?.Code);
        Assert.Equal(connect, loop?.Step);
        Assert.Null(RouteLookUp.LoopTo("as4", "as3", ["as1", "as2", "as4"], connect));
    }

    // ---------------------------------------------------------------- the caller's credential (Fig. 7 step 702, Fig. 9 step 906)

    private static (AuthServerState State, byte[] Credential) As2Trusting()
    {
        using var as1Key = LeafKey.Create();
        using var credential = As2.Issue(CertificateKind.InterServer, "as1", as1Key.SubjectPublicKeyInfo, Now.AddHours(-1), Now.AddDays(1));
        return (AuthServerState.Empty("as2").Apply(new PeerCredentialIssued("as1", credential.RawData)), credential.RawData);
    }

    private static Refusal? Check(AuthServerState state, byte[]? credential, CertificateVerdict verdict = CertificateVerdict.Valid) =>
        Fig9RelayServer.CheckCredential(state, new OpenHandOff("as1", credential, "h1"), _ => verdict, _ => null);

    [Fact]
    public void Step_906_the_credential_this_server_issued_to_the_caller_is_accepted()
    {
        var (state, credential) = As2Trusting();
        Assert.Null(Check(state, credential));
    }

    [Fact]
    public void Step_702_a_caller_without_a_credential_is_an_untrusted_peer()
    {
        var refusal = Check(As2Trusting().State, null);
        Assert.Equal(ErrorCodes.UntrustedPeer, refusal?.Code);
        Assert.Equal(PatentStep.Fig7Check702, refusal?.Step);
        Assert.Equal(["as1", "as2"], refusal?.Path);
    }

    [Fact]
    public void Step_702_a_credential_this_server_did_not_issue_to_the_caller_is_refused()
    {
        using var otherKey = LeafKey.Create();
        using var other = As2.Issue(CertificateKind.InterServer, "as1", otherKey.SubjectPublicKeyInfo, Now.AddHours(-1), Now.AddDays(1));
        Assert.Contains("is not the one as2 issued", Check(As2Trusting().State, other.RawData)?.Message);
    }

    [Fact]
    public void Step_702_an_expired_credential_is_refused()
    {
        var (state, credential) = As2Trusting();
        Assert.Equal(ErrorCodes.UntrustedPeer, Check(state, credential, CertificateVerdict.Expired)?.Code);
    }

    // ---------------------------------------------------------------- the caller's proof of possession (Fig. 7 step 702, Fig. 9 step 906)

    private static (HandOffLedger Ledger, HandOffCertificate Request) Challenged(Func<byte[], byte[]> signData, byte[] credential, string caller = "as1")
    {
        var ledger = new HandOffLedger();
        var nonce = PeerProof.NewNonce();
        ledger.Challenge(nonce, new OpenChallenge(caller, "h1", credential, Now.AddSeconds(5)));
        var request = new HandOffCertificate("as1", new HandOffId("h1"), AliceDer, new UserName("alice"), "server", ["as1"], nonce, [], TimeSpan.FromSeconds(5));
        return (ledger, request with { Proof = PeerProof.Sign(signData, nonce, ProofBinding("as2", request)) });
    }

    [Fact]
    public void Step_906_a_caller_that_signs_the_open_challenge_with_its_credential_s_key_is_trusted_once()
    {
        using var as1Key = LeafKey.Create();
        using var credential = As2.Issue(CertificateKind.InterServer, "as1", as1Key.SubjectPublicKeyInfo, Now.AddHours(-1), Now.AddDays(1));
        var (ledger, request) = Challenged(as1Key.SignData, credential.RawData);
        Assert.Null(Fig9RelayServer.CheckProof(ledger, request, "as2", Now));

        var replayed = Fig9RelayServer.CheckProof(ledger, request, "as2", Now);
        Assert.Equal(ErrorCodes.UntrustedPeer, replayed?.Code);
        Assert.Contains("no open challenge", replayed?.Message);
        Assert.Equal(["as1", "as2"], replayed?.Path);
    }

    [Fact]
    public void Step_702_a_proof_signed_by_another_key_than_the_credential_certifies_is_an_untrusted_peer()
    {
        using var as1Key = LeafKey.Create();
        using var thief = LeafKey.Create();
        using var credential = As2.Issue(CertificateKind.InterServer, "as1", as1Key.SubjectPublicKeyInfo, Now.AddHours(-1), Now.AddDays(1));
        var (ledger, request) = Challenged(thief.SignData, credential.RawData);
        var refusal = Fig9RelayServer.CheckProof(ledger, request, "as2", Now);
        Assert.Equal(ErrorCodes.UntrustedPeer, refusal?.Code);
        Assert.Equal(PatentStep.Fig7Check702, refusal?.Step);
        Assert.Contains("could not prove possession", refusal?.Message);
    }

    [Fact]
    public void Step_702_a_challenge_sent_to_another_caller_is_not_answered_by_this_one()
    {
        using var as1Key = LeafKey.Create();
        using var credential = As2.Issue(CertificateKind.InterServer, "as1", as1Key.SubjectPublicKeyInfo, Now.AddHours(-1), Now.AddDays(1));
        var (ledger, request) = Challenged(as1Key.SignData, credential.RawData, caller: "as4");
        Assert.Equal(ErrorCodes.UntrustedPeer, Fig9RelayServer.CheckProof(ledger, request, "as2", Now)?.Code);
    }

    // ---------------------------------------------------------------- timeouts along the chain

    [Fact]
    public void Each_callee_gets_less_time_than_its_caller_so_the_deepest_server_times_out_first()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(9500), HandOffCalls.DownstreamBudget(TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromMilliseconds(150), HandOffCalls.DownstreamBudget(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(TimeSpan.Zero, HandOffCalls.DownstreamBudget(TimeSpan.FromMilliseconds(40)));
    }

    [Fact]
    public void A_server_that_does_not_answer_in_time_is_a_timeout_at_that_server()
    {
        var error = HandOffCalls.TimedOut("as2", "as4", PatentStep.Fig9SendCertificate908, TimeSpan.FromSeconds(5));
        Assert.Equal(ErrorCodes.Timeout, error.Code);
        Assert.Equal("as4", error.At);
        Assert.Equal("Fig. 9, step 908", error.Step);
        Assert.True(HandOffCalls.IsStale(Now, TimeSpan.FromSeconds(5), Now.AddSeconds(5)));
        Assert.False(HandOffCalls.IsStale(Now, TimeSpan.FromSeconds(5), Now.AddSeconds(4)));
    }
}
