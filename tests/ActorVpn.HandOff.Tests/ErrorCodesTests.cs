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
