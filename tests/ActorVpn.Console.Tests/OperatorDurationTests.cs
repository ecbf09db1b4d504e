using ActorVpn.OperatorConsole.Commands;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>The one duration an operator types, for <c>cluster tail --for</c> and for the ages of <c>audit query --since</c>.</summary>
public sealed class OperatorDurationTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("1.5m", 90_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("0s", 0)]
    public void A_number_and_a_unit_is_a_duration(string text, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), OperatorDuration.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("-5m")]
    [InlineData("5 m")]
    [InlineData("5w")]
    [InlineData("now")]
    [InlineData("2026-11-25")]
    public void Anything_else_is_not(string text) => Assert.Null(OperatorDuration.Parse(text));

    [Fact]
    public void An_age_is_that_long_before_now()
    {
        var now = new DateTimeOffset(2026, 11, 25, 20, 0, 0, TimeSpan.Zero);
        Assert.Equal(now.AddMinutes(-1.5), AuditCommands.ParseTime("1.5m", now));
        Assert.Equal(now.AddDays(-2), AuditCommands.ParseTime("2d", now));
    }
}
