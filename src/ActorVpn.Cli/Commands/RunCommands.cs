using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using ActorVpn.Client;
using ActorVpn.Cluster;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.Observability.Metrics;
using ActorVpn.OperatorConsole;
using ActorVpn.Proxies;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;

namespace ActorVpn.Cli.Commands;

/// <summary><c>avpn up</c> and <c>avpn connect</c>: long-running processes that stop on Ctrl-C or SIGTERM.</summary>
public static class RunCommands
{
    public static Command Up()
    {
        var topology = new Option<string?>("--topology") { Description = "Topology file (HOCON); default: the patent's example" };
        var data = new Option<string>("--data") { Description = "Directory for state and client profiles", DefaultValueFactory = _ => "./data" };
        var consoleAt = new Option<string?>("--console") { Description = "HOST:PORT of the operator console (default actorvpn.console.endpoint, 127.0.0.1:9110)" };
        var store = new Option<string>("--store") { Description = "Where state is kept: sqlite (DATA/actorvpn.db), postgres (AVPN_POSTGRES) or memory", DefaultValueFactory = _ => DurableStore.Sqlite };
        store.AcceptOnlyFromAmong(DurableStore.Sqlite, DurableStore.Postgres, DurableStore.Memory);
        var metrics = new Option<string?>("--metrics") { Description = "HOST:PORT to serve Prometheus metrics on, at http://HOST:PORT/metrics (default: none)" };
        var up = new Command("up", "Run every auth server and proxy of the topology in this process until stopped; state survives restarts in the store; writes each new user's client profile to DATA/profiles/NAME.avpn and prints 'ready'")
        {
            topology, data, store, consoleAt, metrics,
        };
        up.SetAction(async (parse, ct) =>
        {
            try
            {
                var metricsAt = parse.GetValue(metrics) is { } text ? LocalEndpoint("--metrics", text) : null;
                if (metricsAt is not null)
                {
                    _ = PrometheusMetrics.Process; // before the first measurement (the store's first writes)
                }

                var model = ExampleTopology.LoadOrDefault(parse.GetValue(topology));
                var directory = Path.GetFullPath(parse.GetValue(data)!);
                // Profiles, the store, the key secret and admin.avpn live here: owner only.
                SecretFiles.PrivateDirectory(directory);
                SecretFiles.PrivateDirectory(Path.Combine(directory, "profiles"));
                await using var node = await VpnNode.StartAsync(model, concerns: [DurableStore.LayerFor(parse.GetValue(store)!), ConsoleHost.Layer], dataDirectory: directory);
                foreach (var user in model.Users)
                {
                    // Idempotent across restarts: a user the store already knows keeps its certificate
                    // (and its profile stays valid); a revoked one stays revoked.
                    if (await node.Control.FindUserAsync(user.Name, user.AuthServer) is not null)
                    {
                        continue;
                    }

                    var profile = await node.EnrollUserAsync(user.Name, user.AuthServer);
                    profile.Save(Path.Combine(directory, "profiles", $"{user.Name}.avpn"));
                }

                foreach (var (proxy, address) in node.ProxyAddresses)
                {
                    Console.Out.WriteLine($"proxy {proxy} listening on {address}");
                }

                Console.Out.WriteLine($"profiles in {Path.Combine(directory, "profiles")}");
                using var console = await ConsoleHost.StartAsync(new SingleProcessConsoleNode(node), parse.GetValue(consoleAt), Path.Combine(directory, "admin.avpn"));
                Console.Out.WriteLine($"console on {console.Address}; operator credential in {NodeCommand.ConsoleFiles(directory, console)}");
                await using var metricsServer = metricsAt is null ? null : await StartMetricsAsync(metricsAt);
                if (metricsAt is not null)
                {
                    Console.Out.WriteLine($"metrics on http://{metricsAt}{MetricsEndpoint.Path}");
                }

                Console.Out.WriteLine("ready");
                await UntilStoppedAsync(ct);
                return 0;
            }
            catch (Exception e)
            {
                return CliRunner.Report(e);
            }
        });
        return up;
    }

    public static Command Connect()
    {
        var profile = new Option<string>("--profile") { Description = "Client profile (.avpn) written by `avpn up` or `avpn user add`", Required = true };
        var to = new Option<string?>("--to") { Description = "Destination name for --listen" };
        var listen = new Option<string?>("--listen") { Description = "Local HOST:PORT whose every connection goes to --to" };
        var socks5 = new Option<string?>("--socks5") { Description = "Local HOST:PORT of a SOCKS5 proxy (no authentication, CONNECT): any destination of the profile, by name or topology address" };
        var httpProxy = new Option<string?>("--http-proxy") { Description = "Local HOST:PORT of an HTTP CONNECT proxy: any destination of the profile, by name or topology address" };
        var connect = new Command("connect", "Carry local TCP connections through the proxy chain (Fig. 5): to one destination (--to with --listen), or to any destination a SOCKS5 (--socks5) or HTTP CONNECT (--http-proxy) client names")
        {
            profile, to, listen, socks5, httpProxy,
        };
        connect.SetAction(async (parse, ct) =>
        {
            try
            {
                var destination = parse.GetValue(to);
                var fronts = new List<(string Option, string Address, ILocalFront Front)>();
                if (parse.GetValue(listen) is { } listenAt)
                {
                    fronts.Add(("--listen", listenAt, new FixedDestinationFront(destination ?? throw new CliException("--listen needs --to DEST: the destination its connections go to", CliRunner.Usage))));
                }
                else if (destination is not null)
                {
                    throw new CliException("--to needs --listen HOST:PORT: where to accept the connections for it", CliRunner.Usage);
                }

                if (parse.GetValue(socks5) is { } socksAt)
                {
                    fronts.Add(("--socks5", socksAt, Socks5Front.Instance));
                }

                if (parse.GetValue(httpProxy) is { } httpAt)
                {
                    fronts.Add(("--http-proxy", httpAt, HttpConnectFront.Instance));
                }

                if (fronts.Count == 0)
                {
                    throw new CliException("say where to accept connections: --listen HOST:PORT with --to DEST, --socks5 HOST:PORT, or --http-proxy HOST:PORT", CliRunner.Usage);
                }

                var endpoints = fronts.Select(f => (f.Option, Endpoint: LocalEndpoint(f.Option, f.Address), f.Front)).ToList();
                var loaded = ClientProfile.Load(parse.GetValue(profile)!);
                if (destination is not null && !loaded.Entries.ContainsKey(destination))
                {
                    throw new CliException($"--to {destination}: profile of '{loaded.User}' has no destination '{destination}' (known: {string.Join(", ", loaded.Entries.Keys)})", CliRunner.Usage);
                }

                var config = HoconLayers.Load([], overrides: ConfigurationFactory.ParseString("akka.loglevel = INFO"));
                using var system = ActorSystem.Create("avpn-client", config);
                foreach (var (option, endpoint, front) in endpoints)
                {
                    var address = await VpnNode.StartClientAsync(system, loaded, front, endpoint, DataPlaneSettings.FromConfig(config));
                    Console.Out.WriteLine(front switch
                    {
                        FixedDestinationFront => $"listening on {address}: connections go to '{destination}' as '{loaded.User}' through {loaded.Entries[destination!].Proxy}",
                        Socks5Front => $"SOCKS5 proxy on {address}: destinations {string.Join(", ", loaded.Entries.Keys)} as '{loaded.User}'",
                        _ => $"HTTP CONNECT proxy on {address}: destinations {string.Join(", ", loaded.Entries.Keys)} as '{loaded.User}'",
                    });
                }

                await UntilStoppedAsync(ct);
                await system.Terminate();
                return 0;
            }
            catch (Exception e)
            {
                return CliRunner.Report(e);
            }
        });
        return connect;
    }

    private static async Task<Microsoft.AspNetCore.Builder.WebApplication> StartMetricsAsync(IPEndPoint at)
    {
        try
        {
            return await MetricsEndpoint.StartAsync(at);
        }
        catch (IOException e)
        {
            throw new CliException($"--metrics {at}: cannot serve metrics there: {e.Message}", CliRunner.Failed);
        }
    }

    private static IPEndPoint LocalEndpoint(string option, string text)
    {
        var endpoint = HostPort.TryParse(text, out var problem) ?? throw new CliException($"{option}: {problem}", CliRunner.Usage);
        var host = endpoint.Host == "localhost" ? "127.0.0.1" : endpoint.Host;
        return IPAddress.TryParse(host, out var ip)
            ? new IPEndPoint(ip, endpoint.Port)
            : throw new CliException($"{option}: '{endpoint.Host}' is not a local IP address (e.g. 127.0.0.1:{endpoint.Port})", CliRunner.Usage);
    }

    /// <summary>Waits for Ctrl-C or SIGTERM.</summary>
    private static async Task UntilStoppedAsync(CancellationToken ct)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stopped.TrySetResult();
        });
        using var registration = ct.Register(() => stopped.TrySetResult());
        await stopped.Task;
    }
}
