using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using ActorVpn.Client;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole;
using ActorVpn.Proxies;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;

namespace ActorVpn.Cli.Commands;

/// <summary><c>avpn up</c> and <c>avpn connect</c> (contract §2): long-running processes that stop on Ctrl-C or SIGTERM.</summary>
public static class RunCommands
{
    public static Command Up()
    {
        var topology = new Option<string?>("--topology") { Description = "Topology file (HOCON); default: the patent's example" };
        var data = new Option<string>("--data") { Description = "Directory for state and client profiles", DefaultValueFactory = _ => "./data" };
        var consoleAt = new Option<string?>("--console") { Description = "HOST:PORT of the operator console (default actorvpn.console.endpoint, 127.0.0.1:9110)" };
        var store = new Option<string>("--store") { Description = "Where state is kept: sqlite (DATA/actorvpn.db), postgres (AVPN_POSTGRES) or memory", DefaultValueFactory = _ => DurableStore.Sqlite };
        store.AcceptOnlyFromAmong(DurableStore.Sqlite, DurableStore.Postgres, DurableStore.Memory);
        var up = new Command("up", "Run every auth server and proxy of the topology in this process until stopped; state survives restarts in the store; writes each new user's client profile to DATA/profiles/NAME.avpn and prints 'ready'")
        {
            topology, data, store, consoleAt,
        };
        up.SetAction(async (parse, ct) =>
        {
            try
            {
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
                using var console = await ConsoleHost.StartAsync(node, parse.GetValue(consoleAt), Path.Combine(directory, "admin.avpn"));
                Console.Out.WriteLine($"console on {console.Address}; operator credential in {NodeCommand.ConsoleFiles(directory, console)}");
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
        var to = new Option<string>("--to") { Description = "Destination name", Required = true };
        var listen = new Option<string>("--listen") { Description = "Local HOST:PORT to accept connections on", Required = true };
        var connect = new Command("connect", "Accept local TCP connections and carry each through the proxy chain to the destination (Fig. 5)")
        {
            profile, to, listen,
        };
        connect.SetAction(async (parse, ct) =>
        {
            try
            {
                var loaded = ClientProfile.Load(parse.GetValue(profile)!);
                var destination = parse.GetValue(to)!;
                if (!loaded.Entries.ContainsKey(destination))
                {
                    throw new CliException($"profile of '{loaded.User}' has no entry proxy for '{destination}' (known: {string.Join(", ", loaded.Entries.Keys)})", CliRunner.Usage);
                }

                var endpoint = HostPort.TryParse(parse.GetValue(listen)!, out var problem) ?? throw new CliException($"--listen: {problem}", CliRunner.Usage);
                var config = HoconLayers.Load([], overrides: ConfigurationFactory.ParseString("akka.loglevel = INFO"));
                using var system = ActorSystem.Create("avpn-client", config);
                var address = await VpnNode.StartClientAsync(system, loaded, destination,
                    new IPEndPoint(IPAddress.Parse(endpoint.Host == "localhost" ? "127.0.0.1" : endpoint.Host), endpoint.Port), DataPlaneSettings.FromConfig(config));
                Console.Out.WriteLine($"listening on {address}: connections go to '{destination}' as '{loaded.User}' through {loaded.Entries[destination].Proxy}");
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
