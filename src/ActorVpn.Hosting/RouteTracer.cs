using System.Text.Json;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Protocol;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;
using static ActorVpn.Protocol.ClientAuthProtocol;

namespace ActorVpn.Hosting;

/// <summary>The outcome of a hand-off for one user and destination, as <c>route trace</c> prints it.</summary>
public sealed record RouteTraceResult(
    bool Ok,
    string User,
    string Destination,
    IReadOnlyList<string> Route,
    IReadOnlyList<string> HandOff,
    IReadOnlyList<string> Holders,
    HandOffError? Error,
    IReadOnlyList<HandOffStepReached> Steps)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>The JSON of <c>route trace --json</c>: the contract's fields, then <c>steps</c> (each auth server's patent steps, in hand-off order).</summary>
    public string ToJson()
    {
        var body = new Dictionary<string, object?> { ["ok"] = Ok, ["user"] = User, ["destination"] = Destination };
        if (Ok)
        {
            body["route"] = Route;
            body["handoff"] = HandOff;
            body["holders"] = Holders;
        }
        else
        {
            body["handoff"] = HandOff;
            body["error"] = new Dictionary<string, object?> { ["code"] = Error!.Code, ["at"] = Error.At, ["message"] = Error.Message, ["step"] = Error.Step };
        }

        body["steps"] = Steps.Select(s => new Dictionary<string, object?> { ["server"] = s.AuthServer, ["step"] = s.Step.Cite(), ["detail"] = s.Detail }).ToList();

        return JsonSerializer.Serialize(body, Json);
    }

    /// <summary>The human-readable form: the hand-off path, where the route grew, who holds certificate 1.</summary>
    public string ToText()
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine($"route trace: user '{User}' to '{Destination}': {(Ok ? "authenticated" : "FAILED")}");
        text.AppendLine($"  hand-off path : {(HandOff.Count > 0 ? string.Join(" -> ", HandOff) : "(none)")}");
        if (Ok)
        {
            text.AppendLine($"  route         : {string.Join(" -> ", Route)}");
            text.AppendLine($"  holders       : {(Holders.Count > 0 ? string.Join(", ", Holders) : "(none)")}  (hold certificate 1 until the client authenticates at their proxy)");
        }
        else
        {
            text.AppendLine($"  error         : {Error!.Code} at {Error.At} ({Error.Step})");
            text.AppendLine($"                  {Error.Message}");
        }

        text.AppendLine("  steps:");
        foreach (var step in Steps)
        {
            text.AppendLine($"    {step.AuthServer,-8} {step.Step.Cite(),-36} {step.Detail}");
        }

        return text.ToString();
    }
}

/// <summary>
/// Runs the real hand-off flow (the auth-server actors, their keys, credentials and asks) for one
/// user of a topology, in a private actor system, and reports its outcome.
/// </summary>
public static class RouteTracer
{
    public static async Task<RouteTraceResult> TraceAsync(TopologyModel topology, string user, string destination, Config? overrides = null)
    {
        var config = HoconLayers.Load([HoconLayers.PersistenceInMemory], overrides: overrides ?? ConfigurationFactory.ParseString("akka.loglevel = WARNING"));
        using var system = ActorSystem.Create("avpn-trace", config);
        try
        {
            var plane = await ControlPlane.StartAsync(system, topology, AuthServerSettings.FromConfig(config));
            // No proxy runs here: each is enrolled as it would enrol on start, so the trace shows the route of a system
            // whose proxies all started (a running system's trace, on the console, shows the real enrolment state).
            await plane.EnrollStandInProxiesAsync();
            await plane.RegisterTopologyUsersAsync();
            return await TraceAsync(plane, system, user, destination, homeServer: null, keepHeld: true);
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>
    /// Traces on a running control plane: the user's home server runs the hand-off its entry proxy would start (Fig. 6, step 603),
    /// with a throw-away certificate of its own (<see cref="TraceRoute"/>), so the trace is an inspection and changes no state. No
    /// client follows it, so unless <paramref name="keepHeld"/> the home server then releases what the holders hold, as when a
    /// session ends (【0053】).
    /// </summary>
    /// <param name="homeServer">The user's home server; by default the one the topology names.</param>
    public static Task<RouteTraceResult> TraceAsync(ControlPlane plane, ActorSystem system, string user, string destination, string? homeServer = null, bool keepHeld = false) =>
        TraceAsync(plane, system, user, destination, homeServer, _ => new TraceRoute(user, destination), keepHeld);

    /// <summary>
    /// The hand-off of one client: <paramref name="enrollment"/>'s own certificate 1 presented at its entry proxy as the proxy
    /// would (Fig. 6, step 603). What a client's first hop does, for tests of how a given certificate fares; registers nothing.
    /// </summary>
    public static Task<RouteTraceResult> TraceAsync(ControlPlane plane, ActorSystem system, string user, string destination, UserEnrollment? enrollment, bool keepHeld = false) =>
        enrollment is null
            ? TraceAsync(plane, system, user, destination, homeServer: null, keepHeld)
            : TraceAsync(plane, system, user, destination, enrollment.HomeServer, entry => new AuthenticateClient(entry, enrollment.CertificateDer, destination, null), keepHeld);

    private static async Task<RouteTraceResult> TraceAsync(ControlPlane plane, ActorSystem system, string user, string destination, string? homeServer,
        Func<string, object> request, bool keepHeld)
    {
        var topology = plane.Topology;
        var home = homeServer ?? topology.Users.FirstOrDefault(u => u.Name == user)?.AuthServer;
        if (home is null)
        {
            return Failure(user, destination, [], new HandOffError(ErrorCodes.UnknownUser, "-", PatentStep.Fig7Check702.Cite(),
                $"user '{user}' is not registered at any auth server of {topology.Source}"), []);
        }

        var entry = topology.AuthServer(home).Relays.GetValueOrDefault(destination);
        if (!topology.Destinations.ContainsKey(destination))
        {
            return Failure(user, destination, [home], new HandOffError(ErrorCodes.UnknownDestination, home, PatentStep.Fig8LookUp802.Cite(),
                $"no destination '{destination}' is known"), []);
        }

        if (entry is null)
        {
            return Failure(user, destination, [home], new HandOffError(ErrorCodes.NoRoute, home, PatentStep.Fig8LookUp802.Cite(),
                $"{home}, the home server of '{user}', manages no relay proxy for '{destination}' (Fig. 3): the client has no entry proxy"), []);
        }

        // Steps are published on the event stream of the system that runs each auth server, so this node's record
        // holds only the servers of groups running here. An operator's trace (TraceRoute) gets every server's steps
        // back on the reply path with the answer, like the route (Fig. 9, step 910): complete wherever the groups run.
        var steps = new List<HandOffStepReached>();
        var recorder = system.ActorOf(Props.Create(() => new StepRecorder(steps)));
        system.EventStream.Subscribe(recorder, typeof(HandOffStepReached));
        try
        {
            var answer = await plane.AskAsync<object>(home, request(entry));
            if (answer is ClientAuthenticated { } traced && !keepHeld)
            {
                plane.AuthServer(home).Tell(new SessionEnded(traced.HandOffId));
            }

            await recorder.Ask<ActorIdentity>(new Identify(null)); // every step published before the answer is now recorded
            lock (steps)
            {
                var recorded = Chosen(steps.ToList(), answer);
                return answer switch
                {
                    ClientAuthenticated ok => new RouteTraceResult(true, user, destination, ok.Route.Select(r => r.Proxy).Prepend(entry).ToList(),
                        ok.HandOffPath, ok.Holders, null, recorded),
                    ClientRefused refused => Failure(user, destination, refused.HandOffPath, refused.Error, recorded),
                    _ => throw new InvalidOperationException($"unexpected answer {answer}"),
                };
            }
        }
        finally
        {
            system.EventStream.Unsubscribe(recorder);
            system.Stop(recorder);
        }
    }

    /// <summary>
    /// The steps the answer carried back on the reply path; this node's record instead when it holds every one of them (all
    /// the servers that answered run here), as it also holds the steps of a server that reached some but never answered (a
    /// timeout). A client's hand-off (<see cref="AuthenticateClient"/>) carries none: this node's record.
    /// </summary>
    private static IReadOnlyList<HandOffStepReached> Chosen(List<HandOffStepReached> recorded, object answer)
    {
        var carried = answer switch
        {
            ClientAuthenticated ok => ok.Steps,
            ClientRefused refused => refused.Steps,
            _ => null,
        };
        if (carried is null)
        {
            return recorded;
        }

        var here = recorded.ToHashSet();
        return carried.All(here.Contains) ? recorded : carried;
    }

    private static RouteTraceResult Failure(string user, string destination, IReadOnlyList<string> path, HandOffError error, IReadOnlyList<HandOffStepReached> steps) =>
        new(false, user, destination, [], path, [], error, steps);

    private sealed class StepRecorder : ReceiveActor
    {
        public StepRecorder(List<HandOffStepReached> steps)
        {
            Receive<HandOffStepReached>(step =>
            {
                lock (steps)
                {
                    steps.Add(step);
                }
            });
        }
    }
}
