using System.Text;
using ActorVpn.Messaging;
using ActorVpn.Protocol;
using Xunit;
using static ActorVpn.Protocol.HandOffProtocol;

namespace ActorVpn.HandOff.Tests;

/// <summary>
/// Typed ids (<see cref="HandOffId"/>, <see cref="UserName"/>) travel as the bare strings they replace: a node of the previous
/// release reads what this one sends, and this one reads what it sent, byte for byte.
/// </summary>
public sealed class TypedIdWireTests
{
    private static readonly ActorVpnSerializer Serializer = new(null!);

    /// <summary><see cref="HandOffCertificate"/> as it was before its ids were typed: the same members, as strings.</summary>
    private sealed record HandOffCertificateWithStrings(
        string Caller, string HandOffId, byte[] UserCertificateDer, string User, string Destination, IReadOnlyList<string> Path,
        byte[] Nonce, byte[] Proof, TimeSpan Budget, string? TraceParent = null, bool Traced = false);

    private static readonly HandOffCertificate Typed = new("as1", new HandOffId("h-1_x"), [0x30, 0x02], new UserName("alice"), "server",
        ["as1", "as2"], [1, 2, 3], [4, 5], TimeSpan.FromSeconds(5), "00-trace-01", Traced: true);

    private static readonly HandOffCertificateWithStrings Before = new("as1", "h-1_x", [0x30, 0x02], "alice", "server",
        ["as1", "as2"], [1, 2, 3], [4, 5], TimeSpan.FromSeconds(5), "00-trace-01", Traced: true);

    [Fact]
    public void A_hand_off_certificate_with_typed_ids_has_the_wire_bytes_it_had_with_strings()
    {
        var bytes = Serializer.ToBinary(Typed);
        Assert.Equal(Serializer.ToBinary(Before), bytes);
        Assert.Contains("\"handOffId\":\"h-1_x\"", Encoding.UTF8.GetString(bytes));
        Assert.Contains("\"user\":\"alice\"", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void Wire_bytes_of_the_string_form_read_as_the_typed_message()
    {
        var back = Assert.IsType<HandOffCertificate>(Serializer.FromBinary(Serializer.ToBinary(Before), Serializer.Manifest(Typed)));
        Assert.Equal(new HandOffId("h-1_x"), back.HandOffId);
        Assert.Equal(new UserName("alice"), back.User);
        Assert.Equal(Serializer.ToBinary(Typed), Serializer.ToBinary(back));
    }

    [Fact]
    public void The_proof_binds_the_id_and_the_user_as_their_text()
    {
        var binding = Encoding.UTF8.GetString(ProofBinding("as2", Typed));
        Assert.Contains("\nh-1_x\nalice\n", binding);
        Assert.Equal("h-1_x", $"{Typed.HandOffId}"); // log lines and refusals read as before
    }
}
