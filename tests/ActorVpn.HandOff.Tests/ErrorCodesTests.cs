using ActorVpn.Protocol;
using Xunit;

namespace ActorVpn.HandOff.Tests;

/// <summary>The error codes of the contract, spelled once for every layer.</summary>
public sealed class ErrorCodesTests
{
    [Fact]
    public void The_hand_off_codes_are_those_a_route_trace_reports()
    {
        Assert.Equal(
            ["unknown-user", "unknown-destination", "no-route", "untrusted-peer", "route-loop", "certificate-revoked", "certificate-expired", "timeout", "unreachable"],
            ErrorCodes.HandOff);
    }

    [Fact]
    public void Every_code_includes_the_data_path_s_protocol_error_once()
    {
        Assert.Equal("protocol-error", ErrorCodes.ProtocolError);
        Assert.Equal([.. ErrorCodes.HandOff, ErrorCodes.ProtocolError], ErrorCodes.All);
        Assert.Equal(ErrorCodes.All.Count, ErrorCodes.All.Distinct().Count());
    }
}

/// <summary>The contract moved below the roles, but its messages keep the names nodes of the previous release know them by.</summary>
public sealed class WireNameTests
{
    [Theory]
    [InlineData(typeof(HandOffProtocol.OpenHandOff), "ActorVpn.AuthServers.HandOff.HandOffProtocol+OpenHandOff, ActorVpn.AuthServers")]
    [InlineData(typeof(ClientAuthProtocol.AuthenticateClient), "ActorVpn.AuthServers.HandOff.ClientAuthProtocol+AuthenticateClient, ActorVpn.AuthServers")]
    [InlineData(typeof(RouteEntry), "ActorVpn.AuthServers.HandOff.RouteEntry, ActorVpn.AuthServers")]
    [InlineData(typeof(ReleaseHandOff), "ActorVpn.AuthServers.ReleaseHandOff, ActorVpn.AuthServers")]
    [InlineData(typeof(AuthServerAdmin.EnrollProxy), "ActorVpn.AuthServers.AuthServerAdmin+EnrollProxy, ActorVpn.AuthServers")]
    public void A_moved_message_keeps_its_wire_manifest_both_ways(Type type, string manifest)
    {
        Assert.Equal(manifest, Messaging.WireNameAttribute.Of(type));
        Assert.Equal(type, Messaging.WireNameAttribute.TypeOf(manifest));
    }
}
