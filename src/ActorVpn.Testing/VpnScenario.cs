using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using ActorVpn.AuthServers.HandOff;
using ActorVpn.Client;
using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.Protocol;
using ActorVpn.Proxies;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Testing;

/// <summary>How a scenario's system is started.</summary>
public sealed record ScenarioOptions
{
    /// <summary>Extra HOCON over the defaults, e.g. <c>actorvpn.auth-server.handoff-timeout = 1s</c>.</summary>
    public string? Config { get; init; }

    /// <summary>A clock the scenario moves by hand (<see cref="VpnScenario.Clock"/>); null for the real clock.</summary>
    public ManualClock? Clock { get; init; }

    /// <summary>Proxies of the topology that are not started (their host is down), so they never enrol at their auth server.</summary>
    public IReadOnlyCollection<string> ProxiesNotStarted { get; init; } = [];
}

/// <summary>
/// A whole ActorVpn system built from a topology inside a test: the real auth-server actors, real
/// proxies on loopback TCP (ephemeral ports), real TLS, and an echo server behind every destination.
/// It records every patent step as it happens, injects faults (<see cref="Faults"/>), and checks the
/// invariants every scenario must keep (<see cref="AssertInvariantsAsync"/>).
/// </summary>
public sealed class VpnScenario : IAsyncDisposable
{
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(20);

    private readonly Dictionary<string, EchoServer> _destinations;
    private readonly ConcurrentDictionary<string, UserEnrollment> _enrollments = new(StringComparer.Ordinal);
    private readonly ScenarioConnections _connections = new();
    private readonly Recorder.Log _log = new();
    private readonly IActorRef _recorder;

    private readonly IReadOnlyCollection<string> _notStarted;

    private VpnScenario(VpnNode node, Dictionary<string, EchoServer> destinations, FaultPlan faults, ManualClock? clock, IReadOnlyCollection<string> notStarted)
    {
        Node = node;
        _notStarted = notStarted;
        _destinations = destinations;
        Faults = faults;
        Clock = clock;
        _recorder = node.System.ActorOf(Props.Create(() => new Recorder(_log)), "scenario-recorder");
        node.System.EventStream.Subscribe(_recorder, typeof(HandOffStepReached));
        node.System.EventStream.Subscribe(_recorder, typeof(ClientProtocol.SessionEstablished));
        node.System.EventStream.Subscribe(_recorder, typeof(ClientProtocol.SessionClosed));
    }

    public VpnNode Node { get; }

    public FaultPlan Faults { get; }

    public ManualClock? Clock { get; }

    public TopologyModel Topology => Node.Topology;

    /// <summary>Every patent step reached so far, in order.</summary>
    public IReadOnlyList<HandOffStepReached> Steps => _log.Steps();

    /// <summary>Every client session that has ended so far, with the reason it failed (null if it closed normally).</summary>
    public IReadOnlyList<ClientProtocol.SessionClosed> ClosedSessions => _log.Sessions().Closed;

    /// <summary>Starts the system of <paramref name="topologyText"/>. Proxies listen on ephemeral ports; destinations are echo servers.</summary>
    public static async Task<VpnScenario> StartAsync(string topologyText, ScenarioOptions? options = null)
    {
        options ??= new ScenarioOptions();
        var (topology, destinations) = ScenarioTopology.WithEchoDestinations(topologyText, "scenario topology");
        var faults = new FaultPlan();
        try
        {
            var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + (options.Config ?? string.Empty));
            var node = await VpnNode.StartAsync(topology, config, clock: options.Clock, proxiesNotStarted: options.ProxiesNotStarted);
            HandOffFaults.Install(node.System, faults); // the harness's hook: no production Props carries it
            return new VpnScenario(node, destinations, faults, options.Clock, options.ProxiesNotStarted);
        }
        catch
        {
            foreach (var echo in destinations.Values)
            {
                await echo.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>The patent's example system (Fig. 1-4).</summary>
    public static Task<VpnScenario> StartExampleAsync(ScenarioOptions? options = null) => StartAsync(ExampleTopology.Text, options);

    /// <summary>A straight chain: as1 (home, proxy1) routes to as2 ... as{n} ends; each trusts its caller; user alice at as1.</summary>
    public static string ChainTopology(int proxies)
    {
        var text = new StringBuilder("actorvpn.topology {\n  destinations { server = \"127.0.0.1:9\" }\n  auth-servers {\n");
        for (var k = 1; k <= proxies; k++)
        {
            var next = k == proxies ? "end" : $"as{k + 1}";
            var trusts = k == 1 ? string.Empty : $", trusts = [as{k - 1}]";
            text.Append($"    as{k} {{ routes {{ server = {next} }}, relays {{ server = proxy{k} }}{trusts} }}\n");
        }

        text.Append("  }\n  proxies {\n");
        for (var k = 1; k <= proxies; k++)
        {
            text.Append($"    proxy{k} {{ auth-server = as{k}, listen = \"127.0.0.1:{20000 + k}\" }}\n");
        }

        return text.Append("  }\n  users { alice { auth-server = as1 } }\n}\n").ToString();
    }

    /// <summary>Registers <paramref name="user"/> at its home server (the topology's, unless given) and returns its profile.</summary>
    public async Task<ClientProfile> EnrollAsync(string user, string? home = null, TimeSpan? lifetime = null)
    {
        home ??= Topology.Users.FirstOrDefault(u => u.Name == user)?.AuthServer
            ?? throw new ArgumentException($"'{user}' is not in the topology: name its home server");
        var enrollment = await Node.Control.RegisterUserAsync(user, home, "scenario", lifetime);
        _enrollments[user] = enrollment;
        return Node.ProfileFor(enrollment);
    }

    /// <summary>Opens one application connection through the chain (an <c>avpn connect</c> listener per user and destination).</summary>
    public Task<ScenarioSession> ConnectAsync(string user, string destination = "server")
    {
        var enrollment = _enrollments.GetValueOrDefault(user) ?? throw new InvalidOperationException($"enrol '{user}' first");
        return _connections.OpenAsync(user, destination, () => Node.ConnectAsync(Node.ProfileFor(enrollment), destination));
    }

    /// <summary>
    /// The real hand-off for an enrolled user (what `avpn route trace` prints). No client follows it, so
    /// unless <paramref name="keepHeld"/> the home server then releases what the holders hold, as when a session ends.
    /// </summary>
    public async Task<RouteTraceResult> TraceAsync(string user, string destination = "server", bool keepHeld = false)
    {
        var enrollment = _enrollments.GetValueOrDefault(user) ?? throw new InvalidOperationException($"enrol '{user}' first");
        // The user's own certificate 1, as its entry proxy presents it: what servers further on hold is then that certificate.
        return await RouteTracer.TraceAsync(Node.Control, Node.System, user, destination, enrollment, keepHeld);
    }

    /// <summary>Waits until <paramref name="server"/> reaches <paramref name="step"/> (for the hand-off <paramref name="handOffId"/>, if given).</summary>
    public async Task<HandOffStepReached> AwaitStepAsync(string server, PatentStep step, TimeSpan? within = null, string? handOffId = null) =>
        (await EventuallyAsync(() => Task.FromResult(_log.Steps().FirstOrDefault(s => s.AuthServer == server && s.Step == step && (handOffId is null || s.HandOffId == handOffId))),
            within, $"{server} never reached {step.Cite()}{(handOffId is null ? string.Empty : $" for hand-off {handOffId}")}"))!;

    /// <summary>Kills every live connection at <paramref name="proxy"/> (a TCP hop dies mid-stream).</summary>
    public void KillConnectionsAt(string proxy) =>
        Node.System.ActorSelection($"/user/proxies/{proxy}/*").Tell(PoisonPill.Instance);

    /// <summary>Stops an auth server actor for good (its node is gone): callers get <c>unreachable</c>.</summary>
    public async Task StopAuthServerAsync(string name)
    {
        var identity = await Node.Control.AuthServer(name).Ask<ActorIdentity>(new Identify(name), DefaultDeadline);
        var server = identity.Subject ?? throw new InvalidOperationException($"{name} is not running");
        await server.GracefulStop(DefaultDeadline);
    }

    public Task<ProxyProtocol.ProxyStatus> ProxyStatusAsync(string proxy) =>
        Node.System.ActorSelection($"/user/proxies/{proxy}").Ask<ProxyProtocol.ProxyStatus>(ProxyProtocol.GetProxyStatus.Instance, DefaultDeadline);

    public Task<AuthServerStatus> AuthStatusAsync(string server) => Node.Control.AskAsync<AuthServerStatus>(server, GetStatus.Instance);

    /// <summary>Connections each destination has accepted (a proxy connects only where a route sends it).</summary>
    public int DestinationConnections(string destination = "server") => _destinations[destination].Connections;

    /// <summary>
    /// The invariants every scenario keeps, awaited within <paramref name="within"/>: every client
    /// session ended (the test closed it, or the chain did); no proxy session, pending hand-off or
    /// held certificate is left behind (【0053】); no destination was connected more often than
    /// sessions were established to it (no proxy connected anywhere it was not routed to).
    /// Call it after the scenario has closed its own connections.
    /// </summary>
    public async Task AssertInvariantsAsync(TimeSpan? within = null)
    {
        var violation = await EventuallyAsync(async () =>
        {
            var problems = new List<string>();
            var opened = _connections.Opened;

            var (established, closed) = _log.Sessions();
            if (closed.Count < opened)
            {
                problems.Add($"{opened - closed.Count} of {opened} client sessions have not ended");
            }

            foreach (var proxy in Topology.Proxies.Where(p => !_notStarted.Contains(p.Name)))
            {
                var status = await ProxyStatusAsync(proxy.Name);
                if (status.Sessions.Count > 0)
                {
                    problems.Add($"{proxy.Name} still has {status.Sessions.Count} sessions: {string.Join(", ", status.Sessions.Select(s => $"{s.Id} ({s.Stage})"))}");
                }
            }

            foreach (var server in Topology.AuthServers)
            {
                if (AuthServers.AuthServerRegistry.For(Node.System).Find(server.Name) is null)
                {
                    continue; // stopped by the scenario
                }

                var status = await AuthStatusAsync(server.Name);
                if (status.Held.Count > 0 || status.PendingHandOffs > 0)
                {
                    problems.Add($"{server.Name} holds {status.Held.Count} certificates and {status.PendingHandOffs} pending hand-offs");
                }
            }

            foreach (var (destination, echo) in _destinations)
            {
                var sessions = established.Count(s => s.Destination == destination);
                if (echo.Connections > sessions)
                {
                    problems.Add($"destination '{destination}' was connected {echo.Connections} times for {sessions} established sessions");
                }
            }

            return problems.Count == 0 ? null : string.Join("; ", problems);
        }, within, null, expectNull: true);
        if (violation is not null)
        {
            throw new InvariantViolationException(violation);
        }
    }

    /// <summary>Polls <paramref name="probe"/> until it yields a value (or, with <paramref name="expectNull"/>, null).</summary>
    private static async Task<T?> EventuallyAsync<T>(Func<Task<T?>> probe, TimeSpan? within, string? timeoutMessage, bool expectNull = false)
        where T : class
    {
        var deadline = DateTime.UtcNow + (within ?? DefaultDeadline);
        while (true)
        {
            var value = await probe();
            if ((value is null) == expectNull)
            {
                return value;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return expectNull ? value : throw new TimeoutException(timeoutMessage);
            }

            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _connections.DisposeAsync();
        await Node.DisposeAsync();
        foreach (var echo in _destinations.Values)
        {
            await echo.DisposeAsync();
        }
    }

    private sealed class Recorder : ReceiveActor
    {
        public Recorder(Log log)
        {
            Receive<HandOffStepReached>(log.Add);
            Receive<ClientProtocol.SessionEstablished>(log.Add);
            Receive<ClientProtocol.SessionClosed>(log.Add);
        }

        public sealed class Log
        {
            private readonly List<HandOffStepReached> _steps = [];
            private readonly List<ClientProtocol.SessionEstablished> _established = [];
            private readonly List<ClientProtocol.SessionClosed> _closed = [];

            public void Add(HandOffStepReached step)
            {
                lock (_steps)
                {
                    _steps.Add(step);
                }
            }

            public void Add(ClientProtocol.SessionEstablished session)
            {
                lock (_steps)
                {
                    _established.Add(session);
                }
            }

            public void Add(ClientProtocol.SessionClosed session)
            {
                lock (_steps)
                {
                    _closed.Add(session);
                }
            }

            public List<HandOffStepReached> Steps()
            {
                lock (_steps)
                {
                    return _steps.ToList();
                }
            }

            public (List<ClientProtocol.SessionEstablished> Established, List<ClientProtocol.SessionClosed> Closed) Sessions()
            {
                lock (_steps)
                {
                    return (_established.ToList(), _closed.ToList());
                }
            }
        }
    }
}

/// <summary>A scenario left something behind or broke a promise; the message says what.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);
