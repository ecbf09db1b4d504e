using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Protocol;
using Xunit;
using static ActorVpn.HandOff.Tests.Patent;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.HandOff.Tests;

/// <summary>Fig. 7 steps 701-704 and the branch of Fig. 8 step 801 a client's certificate 1 takes.</summary>
public sealed class Fig7ArrivalTests
{
    private static readonly SigningAuthority As1 = Authority("as1");
    private static readonly KnownCertificate Alice = KnownCertificate.Read(UserCertificate(As1, "alice"));

    private static ClientArrival Classify(CertificateVerdict verdict, string? handOffId = null, RetiredAnchor? retired = null) =>
        Fig7Arrival.Classify("as1", new AuthenticateClient("proxy1", Alice.Der.ToArray(), "server", handOffId), Alice, verdict, () => retired);

    [Fact]
    public void Step_801_a_certificate_issued_here_makes_this_the_home_server()
    {
        Assert.Equal(new ClientArrival.Home("alice"), Classify(CertificateVerdict.Valid));
    }

    [Fact]
    public void Step_801_a_certificate_issued_elsewhere_is_looked_for_among_the_held_ones()
    {
        Assert.Equal(new ClientArrival.Held("alice"), Classify(CertificateVerdict.NotIssuedHere));
    }

    [Fact]
    public void Step_801_the_home_server_refuses_a_hand_off_id_because_a_session_starts_there_without_one()
    {
        var refused = Assert.IsType<ClientArrival.Refused>(Classify(CertificateVerdict.Valid, handOffId: "h1"));
        Assert.Equal(ErrorCodes.NoRoute, refused.Refusal.Code);
        Assert.Equal(PatentStep.Fig8IssuedHere801, refused.Refusal.Step);
        Assert.Equal("alice", refused.Refusal.VerifiedUser);
    }

    [Theory]
    [InlineData(CertificateVerdict.Expired)]
    [InlineData(CertificateVerdict.NotYetValid)]
    public void Step_702_a_certificate_outside_its_validity_is_refused_as_expired(CertificateVerdict verdict)
    {
        var refused = Assert.IsType<ClientArrival.Refused>(Classify(verdict));
        Assert.Equal(ErrorCodes.CertificateExpired, refused.Refusal.Code);
        Assert.Equal(PatentStep.Fig7Check702, refused.Refusal.Step);
        Assert.Null(refused.Refusal.VerifiedUser);
    }

    [Fact]
    public void Step_702_a_certificate_of_a_retired_key_is_refused_as_revoked_not_looked_for_as_held()
    {
        var refused = Assert.IsType<ClientArrival.Refused>(Classify(CertificateVerdict.NotIssuedHere, retired: new RetiredAnchor([1], Now)));
        Assert.Equal(ErrorCodes.CertificateRevoked, refused.Refusal.Code);
        Assert.Contains("retired", refused.Refusal.Message);
    }

    [Theory]
    [InlineData(CertificateVerdict.WrongKind)]
    [InlineData(CertificateVerdict.Malformed)]
    public void Step_702_any_other_verdict_is_an_unknown_user(CertificateVerdict verdict)
    {
        var refused = Assert.IsType<ClientArrival.Refused>(Classify(verdict));
        Assert.Equal(ErrorCodes.UnknownUser, refused.Refusal.Code);
        Assert.Equal(PatentStep.Fig7Check702, refused.Refusal.Step);
    }

    [Fact]
    public void Step_702_bytes_that_are_no_certificate_are_an_unknown_user()
    {
        var refusal = Fig7Arrival.NotACertificate("trailing bytes");
        Assert.Equal(ErrorCodes.UnknownUser, refusal.Code);
        Assert.Equal(PatentStep.Fig7Check702, refusal.Step);
        Assert.Equal("unknown-user at as1 (Fig. 7, step 702): not a certificate: trailing bytes", refusal.ErrorAt("as1").ToString());
    }
}
