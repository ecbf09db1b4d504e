using ActorVpn.AuthServers.HandOff;
using ActorVpn.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>A member auth server that crashes is restarted by its upper server with its durable state (AuthServerSupervision).</summary>
public sealed class SupervisionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Member_that_crashes_mid_hand_off_fails_the_request_and_comes_back_with_its_users_and_keys()
    {
        // A long hand-off timeout: the crashed server must answer at once, not leave the caller to time out.
        using var p = await TestPlane.StartAsync(output, config: "actorvpn.auth-server.handoff-timeout = 60s",
            interceptor: Interceptor.Once("as2", PatentStep.Fig9Receive901, StepAction.Crash));
        var bob = await p.RegisterAsync("bob", "as2");
        var before = await p.IdentityAsync("as2");
        var as2 = await p.RefOf("as2");

        // An earlier hand-off whose certificate AS3 (a sibling of AS2) still holds.
        var alice = await p.RegisterAsync("alice", "as1");
        var crashed = await p.TraceAsync("alice", "server", alice);

        Assert.False(crashed.Ok);
        Assert.Equal(ErrorCodes.Unreachable, crashed.Error!.Code);
        Assert.Contains("crashed", crashed.Error.Message);
        Assert.Equal("as2", crashed.Error.At);
        Assert.Equal(["as1", "as2"], crashed.HandOff);

        // Restarted, not replaced: same actor, same signing key, same users and credentials.
        Assert.Equal(as2, await p.RefOf("as2"));
        var after = await p.IdentityAsync("as2");
        Assert.Equal(before.TrustAnchorDer, after.TrustAnchorDer);
        Assert.Equal(before.PublicKeyInfo, after.PublicKeyInfo);
        Assert.Equal(before.CredentialsHeld.Keys.Order(), after.CredentialsHeld.Keys.Order());
        var status = await p.StatusAsync("as2");
        Assert.Contains(status.Users, u => u.Name == "bob" && u.RevokedAt is null && u.ActiveCertificates == 1);
        Assert.Equal(["as1"], status.CredentialsIssuedTo);

        // The next request succeeds, and the user registered before the crash still works from AS2.
        var next = await p.TraceAsync("alice", "server", alice);
        Assert.True(next.Ok, next.Error?.ToString());
        Assert.Equal(["as1", "as2", "as4", "as3"], next.HandOff);
        var fromAs2 = await p.TraceAsync("bob", "server", bob);
        Assert.True(fromAs2.Ok, fromAs2.Error?.ToString());
        Assert.Equal(["as2", "as4", "as3"], fromAs2.HandOff);
        Assert.Equal(["proxy2", "proxy3"], fromAs2.Route);
    }

    [Fact]
    public async Task Crash_of_one_member_does_not_restart_its_siblings()
    {
        // Continue the first time AS2 receives a certificate, crash the second time.
        var received = 0;
        var interceptor = new Interceptor(s => s.AuthServer == "as2" && s.Step == PatentStep.Fig9Receive901 && Interlocked.Increment(ref received) == 2
            ? StepAction.Crash : StepAction.Continue);
        // A long hand-off timeout: the crashed server must answer at once, not leave the caller to time out.
        using var p = await TestPlane.StartAsync(output, config: "actorvpn.auth-server.handoff-timeout = 60s", interceptor: interceptor);
        var alice = await p.RegisterAsync("alice", "as1");
        var first = await p.EnterOkAsync(alice, "server");
        Assert.Single((await p.StatusAsync("as3")).Held);

        var crashed = await p.EnterRefusedAsync(alice, "server");
        Assert.Equal("as2", crashed.Error.At);

        // One-for-one: AS3, AS2's sibling under AS4, was not restarted and still holds certificate 1 of the first hand-off.
        var held = Assert.Single((await p.StatusAsync("as3")).Held);
        Assert.Equal(first.HandOffId, held.HandOffId);
        var atProxy3 = Assert.IsType<ClientAuthProtocol.ClientAuthenticated>(await p.AuthenticateAsync("proxy3", alice.CertificateDer, "server", first.HandOffId));
        Assert.Equal("127.0.0.1:9000", atProxy3.DestinationAddress);
    }
}
