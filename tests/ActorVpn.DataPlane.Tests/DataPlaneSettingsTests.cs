using ActorVpn.Hosting;
using ActorVpn.Proxies;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.DataPlane.Tests;

/// <summary>The <c>actorvpn.data-plane</c> settings a proxy runs with, as the shipped HOCON and an operator's file give them.</summary>
public sealed class DataPlaneSettingsTests
{
    [Fact]
    public void The_shipped_configuration_lingers_two_seconds_after_a_refusal_and_an_operator_may_change_it()
    {
        var shipped = ConfigurationFactory.ParseString(HoconLayers.Text(HoconLayers.Base));

        Assert.Equal(TimeSpan.FromSeconds(2), DataPlaneSettings.FromConfig(shipped).RefusalLinger);
        Assert.Equal(TimeSpan.FromMilliseconds(500),
            DataPlaneSettings.FromConfig(ConfigurationFactory.ParseString("actorvpn.data-plane.refusal-linger = 500ms").WithFallback(shipped)).RefusalLinger);
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("-1s")]
    [InlineData("soon")]
    public void A_refusal_linger_that_is_not_positive_is_refused_with_the_key_named(string value)
    {
        var config = ConfigurationFactory.ParseString($"actorvpn.data-plane.refusal-linger = {value}")
            .WithFallback(ConfigurationFactory.ParseString(HoconLayers.Text(HoconLayers.Base)));

        var error = Assert.Throws<ConfigurationException>(() => DataPlaneSettings.FromConfig(config));
        Assert.Contains("actorvpn.data-plane.refusal-linger", error.Message, StringComparison.Ordinal);
    }
}
