using ActorVpn.AuthServers.Hosting;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;

// A child process for the kill -9 test: starts the patent example's control plane on a
// durable store and adds and revokes users in a loop, printing a line after each confirmed write,
// until it is killed. Arguments: STORE DATA-DIR [CONNECTION-STRING].
// `golden DATA-DIR` writes the journal-compatibility golden store instead (SQLite, see GoldenStoreTests).
if (args is ["golden", var golden])
{
    return await GoldenStore.WriteAsync(golden);
}

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: writer STORE DATA-DIR [CONNECTION-STRING] | writer golden DATA-DIR");
    return 2;
}

var overrides = ConfigurationFactory.ParseString("akka.loglevel = WARNING\n"
    + (args.Length > 2 ? $"actorvpn.persistence.connection-string = \"{args[2]}\"" : string.Empty));
var config = DurableStore.Complete(HoconLayers.Load([DurableStore.LayerFor(args[0])], overrides: overrides, environment: _ => null), args[1]);
var settings = AuthServerSettings.FromConfig(config) with { KeyProtection = DurableStore.KeyProtectionFor(config, args[1]) };
using var system = ActorSystem.Create("actorvpn", config);
var plane = await ControlPlane.StartAsync(system, ExampleTopology.Load(), settings);
Console.Out.WriteLine("started");
for (var i = 0; ; i++)
{
    await plane.RegisterUserAsync($"w{i}", "as1", by: "writer");
    Console.Out.WriteLine($"added w{i}");
    await plane.RevokeUserAsync($"w{i}", "as1", by: "writer");
    Console.Out.WriteLine($"revoked w{i}");
}
