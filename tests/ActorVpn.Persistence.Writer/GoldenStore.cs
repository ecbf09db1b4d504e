using ActorVpn.AuthServers.Hosting;
using ActorVpn.Hosting;
using ActorVpn.Hosting.Audit;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;

/// <summary>
/// Writes a golden store: the patent example's control plane on SQLite with a snapshot every few
/// events, so its journal holds every persisted event type (signing-key rotations included), at least one
/// snapshot, events after it, and audit records. Committed under tests/ActorVpn.Persistence.Tests/Golden and replayed by every later build.
/// </summary>
internal static class GoldenStore
{
    public static async Task<int> WriteAsync(string dataDirectory)
    {
        var overrides = ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            actorvpn.auth-server.snapshot-every = 6
            actorvpn.auth-server.snapshot-every-user-fraction = 0
            """);
        var config = DurableStore.Complete(HoconLayers.Load([DurableStore.LayerFor(DurableStore.Sqlite)], overrides: overrides, environment: _ => null), dataDirectory);
        var settings = AuthServerSettings.FromConfig(config) with { KeyProtection = DurableStore.KeyProtectionFor(config, dataDirectory) };
        using var system = ActorSystem.Create("actorvpn", config);
        AuditTrail.Start(system, config);
        var plane = await ControlPlane.StartAsync(system, ExampleTopology.Load(), settings);
        await plane.EnrollStandInProxiesAsync();
        foreach (var user in new[] { "gold1", "gold2", "gold3", "gold4", "gold5", "gold6", "gold7" })
        {
            await plane.RegisterUserAsync(user, "as1", by: "golden");
        }

        await plane.RevokeUserAsync("gold2", "as1", by: "golden");
        await plane.RegisterUserAsync("gold8", "as1", by: "golden");

        // A finished signing-key rotation of as1 (a user enrolled between switch and finish), a rolled-back one of as4,
        // and one of as2 left switched: every rotation event, and a journal that recovers in the middle of one.
        var rotation = new KeyRotation(plane);
        await rotation.StartAsync("as1", "golden");
        await rotation.SwitchAsync("as1", "golden");
        await plane.RegisterUserAsync("gold9", "as1", by: "golden");
        await rotation.FinishAsync("as1", "golden");
        await rotation.StartAsync("as4", "golden");
        await rotation.RollBackAsync("as4", "golden");
        await rotation.StartAsync("as2", "golden");
        await rotation.SwitchAsync("as2", "golden");
        await system.Terminate();
        Console.Out.WriteLine("golden store written");
        return 0;
    }
}
