using System.Net;
using ActorVpn.AuthServers.HandOff;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Client;
using ActorVpn.Credentials;
using ActorVpn.Proxies;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;

namespace ActorVpn.Hosting;

/// <summary>
/// One running ActorVpn process: an actor system with every auth server (the Fig. 4 tree) and every
/// proxy of a topology. <c>avpn up</c>, <c>avpn demo</c> and the tests all run this.
/// </summary>
public sealed class VpnNode : IAsyncDisposable
{
    private VpnNode(ActorSystem system, ControlPlane control, IActorRef proxies, IReadOnlyDictionary<string, string> addresses, DataPlaneSettings settings)
    {
        System = system;
        Control = control;
        Proxies = proxies;
        ProxyAddresses = addresses;
        DataPlane = settings;
    }

    public ActorSystem System { get; }

    public ControlPlane Control { get; }

    public TopologyModel Topology => Control.Topology;

    /// <summary>The parent of every proxy actor (<c>/user/proxies</c>).</summary>
    public IActorRef Proxies { get; }

    /// <summary>Where each proxy really listens (a topology may ask for port 0).</summary>
    public IReadOnlyDictionary<string, string> ProxyAddresses { get; }

    public DataPlaneSettings DataPlane { get; }

    /// <param name="proxiesNotStarted">Proxies of the topology this node does not run (tests: a proxy whose host is down, never enrolled).</param>
    public static async Task<VpnNode> StartAsync(TopologyModel topology, Config? overrides = null, IReadOnlyList<string>? concerns = null,
        TimeProvider? clock = null, string? dataDirectory = null, IReadOnlyCollection<string>? proxiesNotStarted = null)
    {
        var started = topology.Proxies.Where(p => proxiesNotStarted?.Contains(p.Name) != true).ToList();
        // The durable store (SQLite under dataDirectory, or PostgreSQL) and the key secret: DurableStore.
        var config = DurableStore.Complete(HoconLayers.Load(concerns ?? [HoconLayers.PersistenceInMemory], overrides: overrides), dataDirectory);
        var authServers = AuthServerSettings.FromConfig(config, clock) with { KeyProtection = DurableStore.KeyProtectionFor(config, dataDirectory) };
        var system = ActorSystem.Create("actorvpn", config);
        try
        {
            // The audit trail first, so it hears the first session attempt.
            Audit.AuditTrail.Start(system, config);
            var control = await ControlPlane.StartAsync(system, topology, authServers);
            var settings = DataPlaneSettings.FromConfig(config);
            var proxies = system.ActorOf(Props.Create(() => new ProxiesGuardian(started, control, settings)), "proxies");
            await proxies.Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(10)); // its children exist from here on
            var addresses = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var proxy in started)
            {
                // The guardian answers with the proxy's address once it has an identity, or at once with
                // the reason it stopped (a port already in use, say), so a failed start says why.
                var answer = await proxies.Ask<object>(new AwaitProxy(proxy.Name), TimeSpan.FromSeconds(30));
                addresses[proxy.Name] = answer switch
                {
                    ProxyProtocol.ProxyListening listening => listening.Address,
                    ProxyFailed failed => throw new InvalidOperationException($"proxy {proxy.Name} did not start: {failed.Reason}"),
                    _ => throw new InvalidOperationException($"proxy {proxy.Name}: unexpected answer {answer.GetType().Name}"),
                };
            }

            return new VpnNode(system, control, proxies, addresses, settings);
        }
        catch
        {
            await system.Terminate();
            throw;
        }
    }

    /// <summary>Registers a user at its home server only and returns its client profile.</summary>
    public async Task<ClientProfile> EnrollUserAsync(string user, string homeServer, string by = "topology", TimeSpan? lifetime = null) =>
        ProfileFor(await Control.RegisterUserAsync(user, homeServer, by, lifetime));

    /// <summary>A client profile: certificate 1, key, home trust anchor, and the entry proxy per destination (Fig. 5, step 501).</summary>
    public ClientProfile ProfileFor(UserEnrollment enrollment) =>
        ClientProfiles.Of(enrollment, Topology.AuthServer(enrollment.HomeServer).Relays
            .ToDictionary(r => r.Key, r => new EntryProxy(r.Value, ProxyAddresses.GetValueOrDefault(r.Value) ?? Topology.Proxy(r.Value).Listen.ToString(), Topology.Destinations[r.Key].ToString()), StringComparer.Ordinal));

    /// <summary>Starts <c>avpn connect</c>'s listener in this actor system; returns its local address.</summary>
    public Task<string> ConnectAsync(ClientProfile profile, string destination, IPEndPoint? listen = null) =>
        StartClientAsync(System, profile, destination, listen ?? new IPEndPoint(IPAddress.Loopback, 0), DataPlane);

    public static Task<string> StartClientAsync(ActorSystem system, ClientProfile profile, string destination, IPEndPoint listen, DataPlaneSettings settings) =>
        StartClientAsync(system, profile, new FixedDestinationFront(destination), listen, settings);

    /// <summary>Starts a client listener whose connections name their destination through <paramref name="front"/> (SOCKS5, HTTP CONNECT).</summary>
    public static async Task<string> StartClientAsync(ActorSystem system, ClientProfile profile, ILocalFront front, IPEndPoint listen, DataPlaneSettings settings)
    {
        var listener = system.ActorOf(ClientListenerActor.Props(profile, front, listen, settings.HandshakeTimeout, settings.ConnectTimeout));
        var listening = await listener.Ask<ClientProtocol.ClientListening>(ClientProtocol.AwaitListening.Instance, TimeSpan.FromSeconds(10));
        return listening.Address;
    }

    public async ValueTask DisposeAsync() => await System.Terminate();

    private sealed record AwaitProxy(string Name);

    private sealed record ProxyFailed(string Reason);

    private sealed record Answered((string Name, IActorRef ReplyTo) Waiter, object Answer);

    /// <summary>The parent of every proxy actor; it remembers why a proxy stopped, for whoever waits on it.</summary>
    private sealed class ProxiesGuardian : ReceiveActor
    {
        private readonly Dictionary<string, string> _failures = new(StringComparer.Ordinal);

        public ProxiesGuardian(IReadOnlyList<ProxySpec> proxies, ControlPlane control, DataPlaneSettings settings)
        {
            foreach (var proxy in proxies)
            {
                Context.Watch(Context.ActorOf(ProxyActor.Props(proxy, control.AuthServer(proxy.AuthServer), settings), proxy.Name));
            }

            Receive<AwaitProxy>(wait =>
            {
                if (_failures.TryGetValue(wait.Name, out var reason))
                {
                    Sender.Tell(new ProxyFailed(reason));
                }
                else if (Context.Child(wait.Name) is var proxy && !proxy.IsNobody())
                {
                    var waiter = (wait.Name, Sender);
                    _waiting.Add(waiter);
                    proxy.Ask<ProxyProtocol.ProxyListening>(ProxyProtocol.AwaitListening.Instance, TimeSpan.FromSeconds(30))
                        .PipeTo(Self, success: listening => new Answered(waiter, listening), failure: e => new Answered(waiter, new ProxyFailed(e.Message)));
                }
                else
                {
                    Sender.Tell(new ProxyFailed("no such proxy on this node"));
                }
            });
            Receive<Answered>(answered =>
            {
                // Only the first answer counts: a proxy that stopped meanwhile has been answered for already.
                if (_waiting.Remove(answered.Waiter))
                {
                    answered.Waiter.ReplyTo.Tell(answered.Answer);
                }
            });
            Receive<Terminated>(terminated =>
            {
                var name = terminated.ActorRef.Path.Name;
                var reason = _failures.GetValueOrDefault(name) ?? "it stopped (see the log)";
                _failures[name] = reason;
                foreach (var waiter in _waiting.Where(w => w.Name == name).ToList())
                {
                    waiter.ReplyTo.Tell(new ProxyFailed(reason));
                    _waiting.Remove(waiter);
                }
            });
            ReceiveAny(_ => { });
        }

        private readonly List<(string Name, IActorRef ReplyTo)> _waiting = [];

        protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
        {
            // A proxy that cannot bind fails in PreStart; the bind error is what its waiter needs to hear.
            if (e is ActorInitializationException { Actor: { } failed } init)
            {
                _failures[failed.Path.Name] = (init.InnerException ?? init).Message;
            }

            return Directive.Stop;
        });
    }
}
