using ActorVpn.AuthServers;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Persistence.Tests;

/// <summary>
/// The control plane of the patent's example on a durable store, configured exactly as
/// <c>avpn up --data DIR [--store postgres]</c> configures it (the real HOCON layers,
/// <see cref="DurableStore"/>), without the data plane's fixed ports so tests can run in parallel.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private TestNode(ActorSystem system, ControlPlane plane, Config config)
    {
        System = system;
        Plane = plane;
        Config = config;
    }

    public ActorSystem System { get; }

    public ControlPlane Plane { get; }

    public Config Config { get; }

    public static Config ConfigFor(TestStore store, string? extra = null)
    {
        var overrides = ConfigurationFactory.ParseString(string.Join('\n',
            "akka.loglevel = WARNING",
            store.Hocon,
            extra ?? string.Empty));
        return DurableStore.Complete(HoconLayers.Load([DurableStore.LayerFor(store.Store)], overrides: overrides, environment: _ => null), store.DataDirectory);
    }

    public static async Task<TestNode> StartAsync(TestStore store, string? extra = null)
    {
        var config = ConfigFor(store, extra);
        var settings = AuthServerSettings.FromConfig(config) with { KeyProtection = DurableStore.KeyProtectionFor(config, store.DataDirectory) };
        var system = ActorSystem.Create("actorvpn", config);
        try
        {
            var plane = await ControlPlane.StartAsync(system, ExampleTopology.Load(), settings, askTimeout: Patience);
            return new TestNode(system, plane, config);
        }
        catch
        {
            await system.Terminate();
            throw;
        }
    }

    public Task<AuthServerIdentity> IdentityAsync(string server) => Plane.AskAsync<AuthServerIdentity>(server, GetIdentity.Instance);

    public Task<AuthServerStatus> StatusAsync(string server) => Plane.AskAsync<AuthServerStatus>(server, GetStatus.Instance);

    /// <summary>Everything an auth server recovers, as comparable text: key, credentials issued and held, proxy pins, users.</summary>
    public async Task<string> DurableViewAsync(string server)
    {
        var identity = await IdentityAsync(server);
        var status = await StatusAsync(server);
        return string.Join('\n',
            $"anchor {Convert.ToHexString(identity.TrustAnchorDer)}",
            $"key {Convert.ToHexString(identity.PublicKeyInfo)}",
            $"held {string.Join(",", identity.CredentialsHeld.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Key + ":" + Convert.ToHexString(c.Value)))}",
            $"issued {string.Join(",", status.CredentialsIssuedTo)}",
            $"proxies {string.Join(",", status.ProxyPins.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + ":" + p.Value))}",
            $"users {string.Join(",", status.Users.Select(u => $"{u.Name}:{u.RegisteredAt:O}:{u.RevokedAt:O}:{u.ActiveCertificates}"))}");
    }

    /// <summary>What the journal and snapshot store hold for one persistence id, read in a fresh system.</summary>
    /// <param name="fromSnapshot">false: every event from the first, ignoring snapshots.</param>
    public static async Task<IReadOnlyList<object>> ReadJournalAsync(TestStore store, string persistenceId, bool fromSnapshot = true)
    {
        using var system = ActorSystem.Create("reader", ConfigFor(store));
        var reader = system.ActorOf(Props.Create(() => new JournalReader(persistenceId, fromSnapshot)));
        var result = await reader.Ask<IReadOnlyList<object>>("read", Patience);
        await system.Terminate();
        return result;
    }

    public async ValueTask DisposeAsync() => await System.Terminate();

    /// <summary>Recovers a persistence id and returns what it saw (snapshot offers and events); writes nothing.</summary>
    private sealed class JournalReader : ReceivePersistentActor
    {
        private readonly List<object> _seen = [];

        public JournalReader(string persistenceId, bool fromSnapshot)
        {
            PersistenceId = persistenceId;
            Recovery = fromSnapshot ? Recovery.Default : new Recovery(SnapshotSelectionCriteria.None);
            Recover<RecoveryCompleted>(_ => { });
            Recover<object>(_seen.Add);
            // commands are stashed until recovery has completed
            Command<string>(_ => Sender.Tell((IReadOnlyList<object>)_seen.ToList()));
        }

        public override string PersistenceId { get; }

        public override Recovery Recovery { get; }
    }
}
