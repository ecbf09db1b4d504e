using ActorVpn.Testing;
using Xunit;

namespace ActorVpn.ControlPlane.Tests;

/// <summary><c>avpn demo</c> as a user runs it: it says what it is doing while it starts, and stdout stays the report.</summary>
public sealed class DemoProgressTests
{
    [Fact]
    public async Task Demo_reports_each_stage_on_stderr_while_it_starts_and_the_report_on_stdout()
    {
        // The example system on free ports, so the demo does not collide with anything else listening here.
        var text = ActorVpn.Topology.ExampleTopology.Text;
        foreach (var port in new[] { "7101", "7102", "7103", "9000" })
        {
            text = text.Replace($":{port}\"", $":{FreePorts.Take()}\"", StringComparison.Ordinal);
        }

        var topology = Path.Combine(Path.GetTempPath(), $"avpn-demo-{Guid.NewGuid():N}.hocon");
        File.WriteAllText(topology, text);
        var run = await AvpnProcess.RunAsync(["demo", "--mib", "1", "--topology", topology], TimeSpan.FromSeconds(90));
        File.Delete(topology);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var progress = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(progress, line => Assert.StartsWith("demo: ", line, StringComparison.Ordinal));
        // The stages of the start in the order they happen; the hand-off lines come from the auth servers as certificate 1 travels.
        foreach (var stages in new[]
        {
            new[] { "echo destination 'server'", "starting 4 auth servers and 3 proxies", "system up in", "registering 'alice' at as1 only", "connecting to 'server' through the chain", "chain up in" },
            ["hand-off: certificate at as2", "hand-off: certificate at as4", "hand-off: certificate at as3"],
        })
        {
            var at = stages.Select(stage => Array.FindIndex(progress, line => line.Contains(stage, StringComparison.Ordinal))).ToList();
            Assert.DoesNotContain(-1, at);
            Assert.Equal(at.Order(), at);
        }

        Assert.StartsWith("demo: user 'alice' to 'server'", run.Stdout, StringComparison.Ordinal);
    }
}
