using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.Deployment.Tests;

/// <summary>
/// Failover after <c>kill -9</c> with the cluster timings a deployment ships (hocon/cluster.hocon:
/// the failure detector's defaults, the split-brain resolver's <c>stable-after = 20s</c>), not the
/// tuned ones of <see cref="DeploymentTests"/>. It takes about a minute, so it runs only when
/// <c>AVPN_MEASURE_DEFAULT_FAILOVER=1</c> asks for it (scripts/measure-default-failover.sh).
/// </summary>
public sealed class DefaultTimingsFailoverTests(ITestOutputHelper output)
{
    public const string OptIn = "AVPN_MEASURE_DEFAULT_FAILOVER";

    [SkippableFact]
    public async Task Kill_9_of_the_groups_node_with_default_timings_a_new_session_works_again_and_the_time_is_printed()
    {
        Skip.If(Environment.GetEnvironmentVariable(OptIn) != "1", $"a measurement of about a minute: set {OptIn}=1 to run it");
        string[] both = ["as1", "as4"];
        await using var cluster = await DeployedCluster.StartAsync(
            [new("node1", both, []), new("node2", both, ["proxy1"]), new("node3", both, ["proxy2", "proxy3"])],
            timings: string.Empty);
        try
        {
            var alice = await cluster.TopologyProfileAsync("node1", "alice"); // node1 runs as1, alice's home group
            await Eventually.TrueAsync(() => cluster.NewSessionWorksAsync(alice, TimeSpan.FromSeconds(10)), DeployedCluster.Generous, "alice never connected");

            // node1, the oldest node with both groups' roles, runs both groups.
            var clock = Stopwatch.StartNew();
            cluster.Node("node1").Crash();
            await Eventually.TrueAsync(() => cluster.NewSessionWorksAsync(alice, TimeSpan.FromSeconds(10)), DeployedCluster.Generous, "no new session after node1 crashed");
            var failover = clock.Elapsed;
            output.WriteLine($"failover after kill -9 of the groups' node (default timings): a new session works {failover.TotalSeconds:0.0} s after the crash");
            Console.WriteLine($"default-timings failover: {failover.TotalSeconds:0.0} s");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n{cluster.Diagnostics()}", e);
        }
    }
}
