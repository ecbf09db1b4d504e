using System.CommandLine;
using System.Runtime.InteropServices;
using ActorVpn.Cluster;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.Observability.Metrics;
using ActorVpn.OperatorConsole;
using ActorVpn.Proxies;
using Akka.Configuration;

namespace ActorVpn.Cli.Commands;

/// <summary><c>avpn node --config F</c>: one node of a multi-node cluster, until SIGTERM; its exit codes are <see cref="NodeExitCodes"/>.</summary>
public static class NodeCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "HOCON file layered over the embedded hocon/ files (actorvpn.node { groups, proxies, topology }, akka.cluster.seed-nodes, ...)" };
        var data = new Option<string?>("--data") { Description = "Directory for the operator credential (admin.avpn) and the console authority (default AVPN_CONSOLE_DATA_DIRECTORY, else actorvpn.console.data-directory, ./data); must be writable" };
        var consoleAt = new Option<string?>("--console") { Description = "HOST:PORT of the operator console (default AVPN_CONSOLE_ENDPOINT, else actorvpn.console.endpoint, 127.0.0.1:9110); 'off' serves none" };
        var node = new Command("node", "Run one cluster node: the auth-server groups and proxies its configuration names, and the operator console; prints 'ready' once it is an Up member; SIGTERM leaves gracefully")
        {
            config, data, consoleAt,
        };
        node.SetAction(async (parse, ct) =>
        {
            try
            {
                // The one configuration path of a cluster node (the test harness uses it too): the
                // embedded layers with the store the configuration or AVPN_POSTGRES selects, the
                // console's layer, the operator's file and the environment.
                _ = PrometheusMetrics.Process; // before the first measurement: served at /metrics on the health port
                var loaded = ClusterNode.LoadConfig(parse.GetValue(config));
                var (endpoint, dataDirectory) = ConsoleSettings(loaded, parse.GetValue(consoleAt), parse.GetValue(data));
                await using var running = await ClusterNode.StartAsync(loaded, dataDirectory: dataDirectory);
                using var console = endpoint is "off" ? null : await StartConsoleAsync(running, endpoint, dataDirectory);
                var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                running.Cluster.RegisterOnMemberUp(() => up.TrySetResult());
                var roles = string.Join(", ", running.Cluster.SelfRoles);
                Console.Out.WriteLine($"node {running.Cluster.SelfAddress} roles [{roles}] groups [{string.Join(", ", running.Options.Groups)}] proxies [{string.Join(", ", running.Options.Proxies)}]");
                if (running.HealthUrl is { } health)
                {
                    Console.Out.WriteLine($"health on {health}{HealthPaths.Live} and {HealthPaths.Ready}");
                    Console.Out.WriteLine($"metrics on {health}{MetricsEndpoint.Path}");
                }

                if (console is not null)
                {
                    Console.Out.WriteLine($"console on {console.Address}; operator credential in {ConsoleFiles(dataDirectory, console)}");
                }

                var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
                {
                    context.Cancel = true; // leave through coordinated shutdown, not a hard exit
                    stopped.TrySetResult();
                });
                using var registration = ct.Register(() => stopped.TrySetResult());
                if (await Task.WhenAny(up.Task, stopped.Task, running.System.WhenTerminated) == up.Task)
                {
                    foreach (var proxy in running.Options.Proxies)
                    {
                        Console.Out.WriteLine($"proxy {proxy} listening on {await running.ProxyAddressAsync(proxy, TimeSpan.FromMinutes(2))}");
                    }

                    Console.Out.WriteLine("ready");
                }

                await Task.WhenAny(stopped.Task, running.System.WhenTerminated);
                if (!stopped.Task.IsCompleted && running.System.WhenTerminated.IsCompleted)
                {
                    // Not asked to stop: the cluster removed this node, or it never joined.
                    return Ended(running, up.Task.IsCompleted);
                }

                Console.Out.WriteLine("leaving the cluster");
                await running.LeaveAsync();
                return NodeExitCodes.Left;
            }
            catch (ProxyNotListeningException e)
            {
                // The node is a member, but one of its proxies serves nobody: it is not ready, and says which proxy and why.
                Console.Error.WriteLine($"avpn: not ready: {e.Message}");
                return NodeExitCodes.FailedStart;
            }
            catch (StoreUnrecoverableException e)
            {
                Console.Error.WriteLine($"avpn: store unrecoverable: {e.Message}");
                return NodeExitCodes.StoreUnrecoverable;
            }
            catch (Exception e)
            {
                var code = CliRunner.Report(e);
                return code == CliRunner.Usage ? NodeExitCodes.Configuration : NodeExitCodes.FailedStart;
            }
        });
        return node;
    }

    /// <summary>Why a node stopped that was not asked to: downed by the cluster (the split-brain resolver), or a join that never succeeded.</summary>
    private static int Ended(ClusterNode running, bool wasUp)
    {
        var reason = Akka.Actor.CoordinatedShutdown.Get(running.System).ShutdownReason;
        if (wasUp || reason is Akka.Actor.CoordinatedShutdown.ClusterDowningReason)
        {
            Console.Error.WriteLine($"avpn: this node was downed by the cluster ({reason?.GetType().Name ?? "removed"}); exiting with code {NodeExitCodes.Downed} so it is restarted and rejoins");
            return NodeExitCodes.Downed;
        }

        Console.Error.WriteLine($"avpn: the node stopped before joining the cluster ({reason?.GetType().Name ?? "terminated"}): check akka.cluster.seed-nodes");
        return NodeExitCodes.FailedStart;
    }

    /// <summary>
    /// Where a node's console listens and keeps its files: <c>--console</c> / <c>--data</c>, else the
    /// configuration, whose environment layer holds <c>AVPN_CONSOLE_ENDPOINT</c> /
    /// <c>AVPN_CONSOLE_DATA_DIRECTORY</c> (how a pod sets them) over hocon/console.hocon.
    /// </summary>
    public static (string Endpoint, string DataDirectory) ConsoleSettings(Config loaded, string? console, string? data) =>
        (console ?? loaded.GetString("actorvpn.console.endpoint", "127.0.0.1:9110"), data ?? loaded.GetString("actorvpn.console.data-directory", "./data"));

    /// <summary>
    /// A node's console is for its operators, not for its traffic: if it cannot start (its data
    /// directory is read-only, as in a pod with a read-only root file system, or its port is taken),
    /// the node says so on stderr and runs on without it.
    /// </summary>
    private static async Task<ConsoleHost?> StartConsoleAsync(ClusterNode node, string endpoint, string dataDirectory)
    {
        try
        {
            return await ConsoleHost.StartAsync(new ClusterConsoleNode(node), endpoint, Path.Combine(Path.GetFullPath(dataDirectory), "admin.avpn"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or CredentialException)
        {
            var why = e is IOException or UnauthorizedAccessException ? $"cannot keep admin.avpn in {Path.GetFullPath(dataDirectory)}: {e.Message}" : e.Message;
            Console.Error.WriteLine($"avpn: console off: {why} (give --data a writable directory, or --console off)");
            return null;
        }
    }

    /// <summary>Where the operator credential is, and whether an earlier one was kept.</summary>
    internal static string ConsoleFiles(string dataDirectory, ConsoleHost console) =>
        Path.Combine(Path.GetFullPath(dataDirectory), "admin.avpn") + (console.KeptCredential ? " (kept from an earlier start)" : " (new)");
}
