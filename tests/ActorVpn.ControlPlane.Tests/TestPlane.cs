using ActorVpn.AuthServers.HandOff;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Hosting;
using ActorVpn.Protocol;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Xunit;
using Xunit.Abstractions;
using static ActorVpn.Protocol.AuthServerAdmin;
using static ActorVpn.Protocol.ClientAuthProtocol;
using ControlPlaneHost = ActorVpn.Hosting.ControlPlane;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>
/// One running control plane for one test: an ActorSystem built from the real HOCON layers (in-memory
/// persistence, <c>akka.loglevel = WARNING</c>, no environment variables), the topology's auth-server
/// actors with their credentials distributed, and a TestKit around it for probes and assertions.
/// </summary>
public sealed class TestPlane : IDisposable
{
    /// <summary>Generous: CI has 2 cores and runs test classes in parallel.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30); // generous: 2-core CI runs every test project at once

    private TestPlane(Akka.TestKit.Xunit2.TestKit kit, ControlPlaneHost plane, AuthServerSettings settings, Config config)
    {
        Kit = kit;
        Plane = plane;
        Settings = settings;
        Config = config;
    }

    public Akka.TestKit.Xunit2.TestKit Kit { get; }

    public ActorSystem Sys => Kit.Sys;

    public ControlPlaneHost Plane { get; }

    public TopologyModel Topology => Plane.Topology;

    public AuthServerSettings Settings { get; }

    public Config Config { get; }

    /// <param name="topology">Topology HOCON; default: the patent's example.</param>
    /// <param name="config">Extra HOCON on top of the layers, e.g. <c>actorvpn.auth-server.hold-timeout = 300ms</c>.</param>
    /// <param name="unenrolled">Proxies that have not enrolled (not started); every other proxy is enrolled as on its start.</param>
    public static async Task<TestPlane> StartAsync(ITestOutputHelper output, string? topology = null, string? config = null,
        IHandOffInterceptor? interceptor = null, TimeProvider? clock = null, IReadOnlyCollection<string>? unenrolled = null)
    {
        var model = topology is null ? ExampleTopology.Load() : TopologyLoader.LoadText(topology, "test-topology.hocon");
        var overrides = ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + (config ?? string.Empty));
        var layered = HoconLayers.Load([HoconLayers.PersistenceInMemory], overrides: overrides, environment: _ => null);
        var settings = AuthServerSettings.FromConfig(layered, clock);
        var kit = new Akka.TestKit.Xunit2.TestKit(layered, "avpn-test", output);
        try
        {
            if (interceptor is not null)
            {
                HandOffFaults.Install(kit.Sys, interceptor);
            }

            var plane = await ControlPlaneHost.StartAsync(kit.Sys, model, settings, askTimeout: Patience);
            await plane.EnrollStandInProxiesAsync(except: unenrolled);
            await plane.RegisterTopologyUsersAsync();
            return new TestPlane(kit, plane, settings, layered);
        }
        catch
        {
            kit.Dispose();
            throw;
        }
    }

    /// <summary>A probe that receives every <see cref="HandOffStepReached"/> from now on.</summary>
    public TestProbe StepProbe()
    {
        var probe = Kit.CreateTestProbe();
        Sys.EventStream.Subscribe(probe.Ref, typeof(HandOffStepReached));
        return probe;
    }

    public Task<IActorRef> RefOf(string authServer) => Plane.AuthServer(authServer).ResolveOne(Patience);

    public Task<UserEnrollment> RegisterAsync(string user, string home, TimeSpan? lifetime = null) =>
        Plane.RegisterUserAsync(user, home, by: "test", lifetime: lifetime);

    public Task<AuthServerStatus> StatusAsync(string authServer) => Plane.AskAsync<AuthServerStatus>(authServer, GetStatus.Instance);

    public Task<AuthServerIdentity> IdentityAsync(string authServer) => Plane.AskAsync<AuthServerIdentity>(authServer, GetIdentity.Instance);

    /// <summary>What a proxy does at Fig. 6 step 603: forward the client's certificate 1 to its own auth server.</summary>
    public Task<object> AuthenticateAsync(string proxy, byte[] certificateDer, string destination, string? handOffId = null) =>
        Plane.AskAsync<object>(Topology.Proxy(proxy).AuthServer, new AuthenticateClient(proxy, certificateDer, destination, handOffId));

    /// <summary>The client's first hop: certificate 1 presented at the entry proxy of its home server for <paramref name="destination"/>.</summary>
    public Task<object> EnterAsync(UserEnrollment user, string destination) =>
        AuthenticateAsync(Topology.AuthServer(user.HomeServer).Relays[destination], user.CertificateDer, destination);

    public async Task<ClientAuthenticated> EnterOkAsync(UserEnrollment user, string destination) =>
        Assert.IsType<ClientAuthenticated>(await EnterAsync(user, destination));

    public async Task<ClientRefused> EnterRefusedAsync(UserEnrollment user, string destination) =>
        Assert.IsType<ClientRefused>(await EnterAsync(user, destination));

    /// <summary><c>avpn route trace</c> on this running plane.</summary>
    public Task<RouteTraceResult> TraceAsync(string user, string destination, UserEnrollment? enrollment = null) =>
        RouteTracer.TraceAsync(Plane, Sys, user, destination, enrollment, keepHeld: true);

    public async Task<RouteTraceResult> TraceFailsAsync(string user, string destination, UserEnrollment? enrollment = null)
    {
        var result = await TraceAsync(user, destination, enrollment);
        Assert.False(result.Ok, $"expected a failure, got route [{string.Join(", ", result.Route)}]");
        Assert.NotNull(result.Error);
        return result;
    }

    public void Dispose() => Kit.Dispose();
}

/// <summary>Fault injection at a patent step, decided by a function (called from actor threads).</summary>
public sealed class Interceptor(Func<HandOffStepReached, StepAction> decide) : IHandOffInterceptor
{
    public StepDecision OnStep(HandOffStepReached step) => decide(step);

    /// <summary><paramref name="action"/> the first time <paramref name="authServer"/> reaches <paramref name="step"/>, then continue.</summary>
    public static Interceptor Once(string authServer, PatentStep step, StepAction action)
    {
        var fired = 0;
        return new Interceptor(s => s.AuthServer == authServer && s.Step == step && Interlocked.Exchange(ref fired, 1) == 0 ? action : StepAction.Continue);
    }

    /// <summary><paramref name="action"/> every time <paramref name="authServer"/> reaches <paramref name="step"/>.</summary>
    public static Interceptor Always(string authServer, PatentStep step, StepAction action) =>
        new(s => s.AuthServer == authServer && s.Step == step ? action : StepAction.Continue);
}

/// <summary>A clock the test moves by hand (<see cref="AuthServerSettings.Clock"/>).</summary>
public sealed class ManualClock : TimeProvider
{
    private long _utcTicks = DateTimeOffset.UtcNow.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);
}

/// <summary>Collects the steps a probe received up to and including the one that ends a flow.</summary>
public static class Steps
{
    public static async Task<List<HandOffStepReached>> UntilAsync(TestProbe probe, Func<HandOffStepReached, bool> last)
    {
        var steps = new List<HandOffStepReached>();
        while (true)
        {
            var step = await probe.ExpectMsgAsync<HandOffStepReached>(TestPlane.Patience);
            steps.Add(step);
            if (last(step))
            {
                return steps;
            }
        }
    }

    public static async Task<HandOffStepReached> NextAsync(TestProbe probe, string authServer, PatentStep step) =>
        await probe.FishForMessageAsync<HandOffStepReached>(s => s.AuthServer == authServer && s.Step == step, TestPlane.Patience);
}
