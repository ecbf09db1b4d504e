using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>The console sits below the hosts: each host brings its own <see cref="ConsoleNode"/>, and the console knows neither.</summary>
public sealed class LayeringTests
{
    [Theory]
    [InlineData("ActorVpn.Cluster")]
    [InlineData("ActorVpn.SingleProcess")]
    public void The_console_uses_no_host(string host) =>
        Assert.DoesNotContain(host, typeof(ConsoleNode).Assembly.GetReferencedAssemblies().Select(a => a.Name));
}
