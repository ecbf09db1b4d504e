using ActorVpn.Credentials;
using ActorVpn.Protocol;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;
using static ActorVpn.Protocol.AuthServerAdmin;
using static ActorVpn.Protocol.ClientAuthProtocol;
using static ActorVpn.Protocol.HandOffProtocol;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>Forged, foreign, replayed or misused credentials get a clear refusal.</summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    private static async Task AssertNoHandOffAsync(TestPlane p)
    {
        foreach (var server in new[] { "as2", "as3", "as4" })
        {
            var status = await p.StatusAsync(server);
            Assert.Empty(status.Held);
            Assert.Equal(0, status.PendingHandOffs);
        }
    }

    [Fact]
    public async Task Forged_user_certificate_with_the_same_names_is_refused_at_the_entry()
    {
        using var p = await TestPlane.StartAsync(output);
        await p.RegisterAsync("alice", "as1");
        using var forger = SigningAuthority.Create("as1", DateTimeOffset.UtcNow);
        using var key = LeafKey.Create();
        using var forged = forger.Issue(CertificateKind.User, "alice", key.SubjectPublicKeyInfo, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        var refused = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy1", forged.RawData, "server"));
        Assert.Equal(ErrorCodes.UnknownUser, refused.Error.Code);
        Assert.Equal("as1", refused.Error.At);
        await AssertNoHandOffAsync(p);
    }

    [Fact]
    public async Task Bytes_that_are_no_certificate_are_refused()
    {
        using var p = await TestPlane.StartAsync(output);
        var refused = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy1", [0x30, 0x03, 0x01, 0x02, 0x03], "server"));
        Assert.Equal(ErrorCodes.UnknownUser, refused.Error.Code);
        Assert.Equal("as1", refused.Error.At);
        Assert.True((await p.TraceAsync("alice", "server")).Ok); // the server is still fine
    }

    [Fact]
    public async Task Certificate_issued_by_another_auth_server_is_refused_at_the_entry()
    {
        using var p = await TestPlane.StartAsync(output);
        var bob = await p.RegisterAsync("bob", "as2");
        var refused = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy1", bob.CertificateDer, "server"));
        Assert.Equal(ErrorCodes.UnknownUser, refused.Error.Code);
        Assert.Equal("as1", refused.Error.At);

        // Nor can it ride on somebody else's hand-off at a holder.
        var alice = await p.RegisterAsync("alice", "as1");
        var ok = await p.EnterOkAsync(alice, "server");
        var stolen = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy3", bob.CertificateDer, "server", ok.HandOffId));
        Assert.Equal("as3", stolen.Error.At);
        Assert.Single((await p.StatusAsync("as3")).Held);
    }

    [Fact]
    public async Task Handed_off_certificate_is_refused_at_another_proxy_for_another_destination_or_for_another_user()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        var mallory = await p.RegisterAsync("mallory", "as1");
        var ok = await p.EnterOkAsync(alice, "server");

        var atOtherProxy = Assert.IsType<ClientRefused>(await p.Plane.AskAsync<object>("as2", new AuthenticateClient("proxy3", alice.CertificateDer, "server", ok.HandOffId)));
        Assert.Equal("as2", atOtherProxy.Error.At);
        var otherDestination = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy2", alice.CertificateDer, "elsewhere", ok.HandOffId));
        Assert.Equal("as2", otherDestination.Error.At);
        var otherUser = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy2", mallory.CertificateDer, "server", ok.HandOffId));
        Assert.Equal("as2", otherUser.Error.At);
        var guessedId = Assert.IsType<ClientRefused>(await p.AuthenticateAsync("proxy2", alice.CertificateDer, "server", "guessed-hand-off-id"));
        Assert.Equal(ErrorCodes.UnknownUser, guessedId.Error.Code);

        // None of that used up the real client's hop.
        var real = Assert.IsType<ClientAuthenticated>(await p.AuthenticateAsync("proxy2", alice.CertificateDer, "server", ok.HandOffId));
        Assert.Equal("proxy3", real.NextHop?.Proxy);
    }

    /// <summary>An impostor of AS1 that AS2 really trusts: our own key, certified by AS2 (as the bootstrap would).</summary>
    private sealed class Caller : IDisposable
    {
        private Caller(SigningAuthority key, byte[] credential)
        {
            Key = key;
            Credential = credential;
        }

        public SigningAuthority Key { get; }

        public byte[] Credential { get; }

        public static async Task<Caller> EnrolAsync(TestPlane p, string name, string callee)
        {
            var key = SigningAuthority.Create(name, DateTimeOffset.UtcNow);
            var credential = Assert.IsType<PeerCredential>(await p.Plane.AskAsync<object>(callee, new IssuePeerCredential(name, key.SubjectPublicKeyInfo)));
            return new Caller(key, credential.CertificateDer);
        }

        public static HandOffCertificate Signed(HandOffCertificate request, string callee, Func<byte[], byte[]> sign) =>
            request with { Proof = PeerProof.Sign(sign, request.Nonce, ProofBinding(callee, request)) };

        public void Dispose() => Key.Dispose();
    }

    private static HandOffCertificate Request(string handOffId, Hosting.UserEnrollment user, byte[] nonce) =>
        new("as1", new HandOffId(handOffId), user.CertificateDer, new UserName(user.User), "server", ["as1"], nonce, [], TimeSpan.FromSeconds(5));

    [Fact]
    public async Task Replayed_inter_server_proof_is_refused()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        using var caller = await Caller.EnrolAsync(p, "as1", "as2");
        var as2 = await p.RefOf("as2");

        var challenge = await as2.Ask<HandOffChallenge>(new OpenHandOff("as1", caller.Credential, "replay-1"), TestPlane.Patience);
        var request = Caller.Signed(Request("replay-1", alice, challenge.Nonce), "as2", caller.Key.SignData);

        // The first answer is the real thing: AS2 goes on to AS4 and AS3 and returns the route.
        var routed = await as2.Ask<HandOffRouted>(request, TestPlane.Patience);
        Assert.Equal(["proxy2", "proxy3"], routed.Route.Select(r => r.Proxy));

        // The very same message again: its nonce was used up.
        var replay = await as2.Ask<HandOffFailed>(request, TestPlane.Patience);
        Assert.Equal(ErrorCodes.UntrustedPeer, replay.Error.Code);
        Assert.Equal("as2", replay.Error.At);

        // Nor does the old proof fit a fresh challenge for the same hand-off.
        var fresh = await as2.Ask<HandOffChallenge>(new OpenHandOff("as1", caller.Credential, "replay-1"), TestPlane.Patience);
        var stale = await as2.Ask<HandOffFailed>(request with { Nonce = fresh.Nonce }, TestPlane.Patience);
        Assert.Equal(ErrorCodes.UntrustedPeer, stale.Error.Code);
        Assert.Single((await p.StatusAsync("as2")).Held); // only the first, genuine hand-off
    }

    [Fact]
    public async Task Proof_signed_with_the_wrong_key_is_refused()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        using var caller = await Caller.EnrolAsync(p, "as1", "as2");
        using var thief = SigningAuthority.Create("as1", DateTimeOffset.UtcNow);
        var as2 = await p.RefOf("as2");

        var challenge = await as2.Ask<HandOffChallenge>(new OpenHandOff("as1", caller.Credential, "wrong-key"), TestPlane.Patience);
        var refused = await as2.Ask<HandOffFailed>(Caller.Signed(Request("wrong-key", alice, challenge.Nonce), "as2", thief.SignData), TestPlane.Patience);
        Assert.Equal(ErrorCodes.UntrustedPeer, refused.Error.Code);
        Assert.Equal("as2", refused.Error.At);
        await AssertNoHandOffAsync(p);
    }

    [Fact]
    public async Task Proof_made_for_another_request_is_refused()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        using var caller = await Caller.EnrolAsync(p, "as1", "as2");
        var as2 = await p.RefOf("as2");

        // The proof binds the destination: a signed request cannot be redirected.
        var challenge = await as2.Ask<HandOffChallenge>(new OpenHandOff("as1", caller.Credential, "bound"), TestPlane.Patience);
        var signed = Caller.Signed(Request("bound", alice, challenge.Nonce), "as2", caller.Key.SignData);
        var refused = await as2.Ask<HandOffFailed>(signed with { Destination = "elsewhere" }, TestPlane.Patience);
        Assert.Equal(ErrorCodes.UntrustedPeer, refused.Error.Code);
        await AssertNoHandOffAsync(p);
    }

    [Fact]
    public async Task Credential_copied_from_a_log_is_not_enough_without_the_key()
    {
        using var p = await TestPlane.StartAsync(output);
        var alice = await p.RegisterAsync("alice", "as1");
        var copied = (await p.IdentityAsync("as1")).CredentialsHeld["as2"]; // AS1's genuine credential, issued by AS2
        using var thief = SigningAuthority.Create("as1", DateTimeOffset.UtcNow);
        var as2 = await p.RefOf("as2");

        var challenge = await as2.Ask<HandOffChallenge>(new OpenHandOff("as1", copied, "copied"), TestPlane.Patience);
        var refused = await as2.Ask<HandOffFailed>(Caller.Signed(Request("copied", alice, challenge.Nonce), "as2", thief.SignData), TestPlane.Patience);
        Assert.Equal(ErrorCodes.UntrustedPeer, refused.Error.Code);
        await AssertNoHandOffAsync(p);
        Assert.True((await p.TraceAsync("alice", "server", alice)).Ok); // the genuine AS1 still gets through
    }

    [Fact]
    public async Task Self_made_credential_is_refused_before_any_challenge()
    {
        using var p = await TestPlane.StartAsync(output);
        using var forger = SigningAuthority.Create("as2", DateTimeOffset.UtcNow);
        using var key = LeafKey.Create();
        using var forged = forger.Issue(CertificateKind.InterServer, "as1", key.SubjectPublicKeyInfo, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var as2 = await p.RefOf("as2");

        var refused = await as2.Ask<HandOffFailed>(new OpenHandOff("as1", forged.RawData, "forged"), TestPlane.Patience);
        Assert.Equal(ErrorCodes.UntrustedPeer, refused.Error.Code);
        var none = await as2.Ask<HandOffFailed>(new OpenHandOff("as1", null, "none"), TestPlane.Patience);
        Assert.Equal(ErrorCodes.UntrustedPeer, none.Error.Code);

        // A server that is not in the callee's `trusts` cannot get a credential either.
        Assert.IsType<AdminRefused>(await p.Plane.AskAsync<object>("as2", new IssuePeerCredential("as3", key.SubjectPublicKeyInfo)));
    }
}
