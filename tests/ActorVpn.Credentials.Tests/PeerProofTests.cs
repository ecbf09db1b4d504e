using System.Security.Cryptography.X509Certificates;
using Xunit;
using static ActorVpn.Credentials.Tests.Fixtures;

namespace ActorVpn.Credentials.Tests;

public sealed class PeerProofTests : IDisposable
{
    private readonly SigningAuthority _callee = Authority("as2");
    private readonly LeafKey _callerKey = LeafKey.Create();
    private readonly X509Certificate2 _credential;
    private readonly byte[] _nonce = PeerProof.NewNonce();
    private readonly byte[] _binding = "forward certificate 1 for alice"u8.ToArray();

    public PeerProofTests()
    {
        _credential = _callee.Issue(CertificateKind.InterServer, "as1", _callerKey.SubjectPublicKeyInfo, Now, Now.AddDays(1));
    }

    public void Dispose()
    {
        _credential.Dispose();
        _callerKey.Dispose();
        _callee.Dispose();
    }

    [Fact]
    public void Proof_from_the_credential_holder_verifies()
    {
        var proof = PeerProof.Sign(_callerKey.SignData, _nonce, _binding);

        Assert.True(PeerProof.Verify(_credential, _nonce, _binding, proof));
    }

    [Fact]
    public void Proof_signed_with_an_authority_key_verifies_against_the_authority_certificate()
    {
        var proof = PeerProof.Sign(_callee.SignData, _nonce, _binding);

        Assert.True(PeerProof.Verify(_callee.Certificate, _nonce, _binding, proof));
        Assert.False(PeerProof.Verify(_credential, _nonce, _binding, proof));
    }

    [Fact]
    public void Proof_for_another_nonce_fails()
    {
        var proof = PeerProof.Sign(_callerKey.SignData, _nonce, _binding);

        Assert.False(PeerProof.Verify(_credential, PeerProof.NewNonce(), _binding, proof));
    }

    [Fact]
    public void Proof_for_another_binding_fails()
    {
        var proof = PeerProof.Sign(_callerKey.SignData, _nonce, _binding);

        Assert.False(PeerProof.Verify(_credential, _nonce, "forward certificate 1 for mallory"u8, proof));
    }

    [Fact]
    public void Proof_cannot_move_bytes_between_nonce_and_binding()
    {
        var proof = PeerProof.Sign(_callerKey.SignData, _nonce, _binding);
        byte[] longerNonce = [.. _nonce, _binding[0]];

        Assert.False(PeerProof.Verify(_credential, longerNonce, _binding.AsSpan(1), proof));
    }

    [Fact]
    public void Proof_signed_by_another_key_fails()
    {
        using var impostor = LeafKey.Create();
        var proof = PeerProof.Sign(impostor.SignData, _nonce, _binding);

        Assert.False(PeerProof.Verify(_credential, _nonce, _binding, proof));
    }

    [Fact]
    public void Truncated_proof_fails()
    {
        var proof = PeerProof.Sign(_callerKey.SignData, _nonce, _binding);

        Assert.False(PeerProof.Verify(_credential, _nonce, _binding, proof.AsSpan(0, proof.Length - 1)));
        Assert.False(PeerProof.Verify(_credential, _nonce, _binding, proof.AsSpan(0, 32)));
    }

    [Fact]
    public void Garbage_proof_or_nonce_fails_without_throwing()
    {
        var proof = PeerProof.Sign(_callerKey.SignData, _nonce, _binding);
        var flipped = (byte[])proof.Clone();
        flipped[10] ^= 0x01;

        Assert.False(PeerProof.Verify(_credential, _nonce, _binding, flipped));
        Assert.False(PeerProof.Verify(_credential, _nonce, _binding, new byte[64]));
        Assert.False(PeerProof.Verify(_credential, _nonce, _binding, []));
        Assert.False(PeerProof.Verify(_credential, _nonce, _binding, new byte[1000]));
        Assert.False(PeerProof.Verify(_credential, [], _binding, proof));
        Assert.False(PeerProof.Verify(null!, _nonce, _binding, proof));
    }

    [Fact]
    public void Proof_is_bound_to_the_peer_proof_domain()
    {
        // A signature over the bare nonce || binding (say, obtained from another protocol) is no proof.
        var bare = _callerKey.SignData([.. _nonce, .. _binding]);

        Assert.False(PeerProof.Verify(_credential, _nonce, _binding, bare));
    }

    [Fact]
    public void Nonces_are_32_fresh_random_bytes()
    {
        var a = PeerProof.NewNonce();
        var b = PeerProof.NewNonce();

        Assert.Equal(32, a.Length);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Signing_refuses_a_short_nonce()
    {
        Assert.Throws<ArgumentException>(() => PeerProof.Sign(_callerKey.SignData, new byte[4], _binding));
    }
}
