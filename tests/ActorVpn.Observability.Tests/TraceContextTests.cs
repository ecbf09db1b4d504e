using System.Diagnostics;
using ActorVpn.Observability.Tracing;
using Xunit;

namespace ActorVpn.Observability.Tests;

/// <summary>A <c>traceparent</c> comes from the network: only an exact W3C version-00 value is used, anything else starts a new trace.</summary>
public sealed class TraceContextTests
{
    [Fact]
    public void A_well_formed_traceparent_gives_the_callers_trace_and_span()
    {
        var context = Spans.Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", context.TraceId.ToHexString());
        Assert.Equal("00f067aa0ba902b7", context.SpanId.ToHexString());
        Assert.True(context.IsRemote);
        Assert.Equal(ActivityTraceFlags.Recorded, context.TraceFlags);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01")] // upper case
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01")] // zero trace id
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")] // zero span id
    [InlineData("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")] // another version
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01")] // dashes misplaced
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\n")]
    public void Anything_else_is_ignored(string? traceParent) => Assert.Equal(default, Spans.Parse(traceParent));
}
