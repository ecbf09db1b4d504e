using System.Text;
using System.Text.Json;
using ActorVpn.AuthServers;
using ActorVpn.Cluster;
using ActorVpn.Hosting;
using ActorVpn.Hosting.Audit;
using ActorVpn.OperatorConsole.Logging;
using ActorVpn.Protocol;
using ActorVpn.Proxies;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.Protocol.AuthServerAdmin;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// Runs one console command against a running node. Every call is asynchronous (asks with
/// timeouts, never a blocking wait), so a console connection actor can pipe the outcome to itself
/// and the node keeps running whatever a command does.
/// </summary>
public sealed class ConsoleCommands(ConsoleNode node, TimeSpan timeout)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ClusterCommands _cluster = new(node, timeout);
    private readonly RotationCommands _rotation = new(node, timeout);

    public ConsoleCommands(VpnNode node, TimeSpan timeout)
        : this(ConsoleNode.Of(node), timeout)
    {
    }

    /// <summary>The named-operator commands of this node's console; null where no console authority is at hand.</summary>
    public OperatorCommands? Operators { get; init; }

    /// <summary>The node these commands run on.</summary>
    public ConsoleNode Node => node;

    /// <summary>
    /// A command that streams (<c>cluster tail</c>): the props of the actor that sends its replies
    /// (<see cref="ConsoleReply.More"/> until the last) to <paramref name="connection"/>; a usage
    /// error; or (null, null) when <paramref name="words"/> is an ordinary command for <see cref="RunAsync"/>.
    /// </summary>
    public (Props? Stream, ConsoleReply? Refused) StreamOf(IReadOnlyList<string> words, IActorRef connection)
    {
        var (line, _) = CommandLine.Parse(words);
        return line is { Positionals: ["cluster", "tail", ..] } ? _cluster.Tail(line, connection) : (null, null);
    }

    public Task<ConsoleReply> RunAsync(IReadOnlyList<string> words) => RunCommandAsync(words, by: "console");

    /// <param name="by">The operator who runs the command, for what the auth servers record of it.</param>
    private async Task<ConsoleReply> RunCommandAsync(IReadOnlyList<string> words, string by)
    {
        var (line, problem) = CommandLine.Parse(words);
        if (line is null)
        {
            return ConsoleReply.UsageError(problem!, Palette.UsageOf(string.Join(' ', words.TakeWhile(w => !w.StartsWith("--", StringComparison.Ordinal)).Take(2))));
        }

        var p = line.Positionals;
        var verb = p.Count >= 2 ? $"{p[0]} {p[1]}" : p.Count == 1 ? p[0] : string.Empty;
        try
        {
            return verb switch
            {
                "" or "help" => ConsoleReply.Text(Palette.Help()),
                "cluster show" => await _cluster.ShowAsync(line),
                "cluster leave" => _cluster.Leave(line),
                "cluster down" => _cluster.Down(line),
                "cluster tail" => ConsoleReply.UsageError("'cluster tail' streams: run it on a console connection", Palette.UsageOf("cluster tail")),
                "actor hierarchy" => ActorHierarchy(line),
                "log peek" => LogPeek(line),
                "auth list" => await AuthListAsync(line),
                "auth show" => await AuthShowAsync(line),
                "auth rotate" => await _rotation.RunAsync(line, by),
                "proxy list" => await ProxyListAsync(line),
                "proxy show" => await ProxyShowAsync(line),
                "session list" => await SessionListAsync(line),
                "session show" => await SessionShowAsync(line),
                "session kill" => await SessionKillAsync(line),
                "route trace" => await RouteTraceAsync(line),
                "user add" => await UserAddAsync(line),
                "user revoke" => await UserRevokeAsync(line),
                "user list" => await UserListAsync(line),
                "names" => await NamesAsync(),
                _ => ConsoleReply.UsageError($"unknown command '{string.Join(' ', p)}'", Palette.UsageOf(p.Count > 0 ? p[0] : string.Empty) is { Length: > 0 } u ? u : "help"),
            };
        }
        catch (AskTimeoutException)
        {
            return ConsoleReply.Failure($"'{verb}' timed out after {timeout.TotalSeconds:0} s (the node is still running)");
        }
        catch (InvalidOperationException e)
        {
            return ConsoleReply.Failure(e.Message);
        }
    }

    /// <summary>A command from an authenticated operator: the audit palette, and operator actions written to the audit trail (<see cref="AuditCommands"/>).</summary>
    public Task<ConsoleReply> RunAsync(IReadOnlyList<string> words, string operatorName) => AuditCommands.Handles(words)
        ? new AuditCommands(node, timeout).RunAsync(words)
        : new AuditCommands(node, timeout).AuditedAsync(operatorName, words,
            () => OperatorCommands.Handles(words) && Operators is { } operators ? Task.FromResult(operators.Run(words)) : RunCommandAsync(words, operatorName));

    internal static ConsoleReply Reply(CommandLine line, object json, string text) =>
        ConsoleReply.Text(line.Json ? JsonSerializer.Serialize(json, Json) + "\n" : text);

    internal static ConsoleReply? Arity(CommandLine line, int count, string words) =>
        line.Positionals.Count == count ? null : ConsoleReply.UsageError($"'{words}' takes {(count == 2 ? "no" : count - 2)} argument{(count == 3 ? string.Empty : "s")}", Palette.UsageOf(words));

    // ---------------------------------------------------------------- cluster, actors, log

    /// <summary>The live actor tree, read from the actor cells of this system (no message is sent, nothing waits).</summary>
    private ConsoleReply ActorHierarchy(CommandLine line)
    {
        if (line.Positionals.Count > 3)
        {
            return ConsoleReply.UsageError("too many arguments", Palette.UsageOf("actor hierarchy"));
        }

        var depth = 6;
        if (line.Option("--depth") is { } d && (!int.TryParse(d, out depth) || depth < 0 || depth > 64))
        {
            return ConsoleReply.UsageError("--depth takes a number from 0 to 64", Palette.UsageOf("actor hierarchy"));
        }

        var path = line.Positionals.Count == 3 ? line.Positionals[2] : "/user";
        var system = (ExtendedActorSystem)node.System;
        IActorRef root = system.Provider.RootGuardian;
        foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            root = Children(root).FirstOrDefault(c => c.Path.Name == name)
                ?? throw new InvalidOperationException(ClusterCommands.IsCluster(node.System)
                    ? $"no actor at {path} on this node: the tree is this node's own; on a cluster node an auth server runs under /user/group-<root> of the node hosting its group (e.g. {GroupPlacement.PathOf(node.Topology, node.Topology.AuthServers[^1].Name)}; `cluster show` names the node, `auth list --json` the paths)"
                    : $"no actor at {path}");
        }

        var nodes = Walk(root, depth).ToList();
        var text = new StringBuilder();
        foreach (var (actor, level) in nodes)
        {
            text.Append(' ', level * 2).Append(level == 0 ? actor.Path.ToStringWithoutAddress() : actor.Path.Name).Append('\n');
        }

        return Reply(line, nodes.Select(n => new { path = n.Actor.Path.ToStringWithoutAddress(), depth = n.Level }).ToList(), text.ToString());
    }

    private static IEnumerable<(IActorRef Actor, int Level)> Walk(IActorRef actor, int depth, int level = 0)
    {
        yield return (actor, level);
        if (level >= depth)
        {
            yield break;
        }

        foreach (var child in Children(actor).OrderBy(c => c.Path.Name, StringComparer.Ordinal))
        {
            foreach (var below in Walk(child, depth, level + 1))
            {
                yield return below;
            }
        }
    }

    private static IEnumerable<IActorRef> Children(IActorRef actor) =>
        actor is ActorRefWithCell withCell ? withCell.Children.Where(c => !c.Path.Name.StartsWith('$')).ToList() : [];

    private ConsoleReply LogPeek(CommandLine line)
    {
        if (Arity(line, 2, "log peek") is { } usage)
        {
            return usage;
        }

        var level = LogLevel.DebugLevel;
        if (line.Option("--level") is { } l && RingBufferLog.ParseLevel(l) is not { } parsed)
        {
            return ConsoleReply.UsageError($"unknown level '{l}'", Palette.UsageOf("log peek"));
        }
        else if (line.Option("--level") is { } given)
        {
            level = RingBufferLog.ParseLevel(given)!.Value;
        }

        var lines = 50;
        if (line.Option("--lines") is { } n && (!int.TryParse(n, out lines) || lines < 1 || lines > RingBufferLog.Capacity))
        {
            return ConsoleReply.UsageError($"--lines takes a number from 1 to {RingBufferLog.Capacity}", Palette.UsageOf("log peek"));
        }

        var peeked = RingBufferLog.For(node.System).Peek(lines, level);
        // Log lines quote what peers sent (names, frames, certificate subjects): escaped, so they cannot forge lines or drive the terminal.
        var text = string.Concat(peeked.Select(e => $"{e.Timestamp:HH:mm:ss.fff} {e.Level,-7} {TerminalText.Escape(e.Source)}: {TerminalText.Escape(e.Message)}\n"));
        return Reply(line, peeked, peeked.Count == 0 ? "(no log lines)\n" : text);
    }

    // ---------------------------------------------------------------- auth servers, proxies

    private Task<ControlPlane> ControlAsync() => node.ControlAsync(timeout);

    private async Task<AuthServerStatus> AuthStatusAsync(string server) => await (await ControlAsync()).AskAsync<AuthServerStatus>(server, GetStatus.Instance);

    private async Task<IReadOnlyList<AuthServerStatus>> AllAuthStatusAsync() =>
        await Task.WhenAll(node.Topology.AuthServers.Select(a => AuthStatusAsync(a.Name)));

    private async Task<ConsoleReply> AuthListAsync(CommandLine line)
    {
        if (Arity(line, 2, "auth list") is { } usage)
        {
            return usage;
        }

        var statuses = (await AllAuthStatusAsync()).ToDictionary(s => s.Name, StringComparer.Ordinal);
        var text = new StringBuilder("auth servers (Fig. 4: members under their upper server):\n");
        void Print(string name, int level)
        {
            var s = statuses[name];
            text.Append(' ', 2 + (level * 2)).Append($"{name,-10} path {string.Join('/', node.Topology.LineageOf(name))}  users {s.Users.Count(u => u.RevokedAt is null)}  holds {s.Held.Count}  pending {s.PendingHandOffs}\n");
            foreach (var member in node.Topology.MembersOf(name))
            {
                Print(member.Name, level + 1);
            }
        }

        foreach (var root in node.Topology.Roots)
        {
            Print(root.Name, 0);
        }

        var json = node.Topology.AuthServers.Select(a => statuses[a.Name]).Select(s => new
        {
            name = s.Name,
            upper = s.UpperServer,
            members = s.Members,
            path = ClusterCommands.IsCluster(node.System) ? GroupPlacement.PathOf(node.Topology, s.Name) : "/user/auth-servers/" + string.Join('/', node.Topology.LineageOf(s.Name)),
            users = s.Users.Count(u => u.RevokedAt is null),
            held = s.Held.Count,
            pending = s.PendingHandOffs,
        }).ToList();
        return Reply(line, json, text.ToString());
    }

    private async Task<ConsoleReply> AuthShowAsync(CommandLine line)
    {
        if (Arity(line, 3, "auth show") is { } usage)
        {
            return usage;
        }

        var name = line.Positionals[2];
        if (!node.Topology.HasAuthServer(name))
        {
            return ConsoleReply.Failure($"no auth server '{name}' (known: {string.Join(", ", node.Topology.AuthServers.Select(a => a.Name))})");
        }

        var s = await AuthStatusAsync(name);
        var now = DateTimeOffset.UtcNow;
        var text = new StringBuilder();
        text.Append($"auth server {s.Name}\n");
        text.Append($"  upper server : {s.UpperServer ?? "(none: top of the tree)"}\n");
        text.Append($"  members      : {Join(s.Members)}\n");
        text.Append($"  routes (Fig. 2, relay-route table) : {Join(s.Routes.Select(r => $"{r.Key} -> {r.Value}"))}\n");
        text.Append($"  relays (Fig. 3, relay-proxy table) : {Join(s.Relays.Select(r => $"{r.Key} -> {r.Value}"))}\n");
        text.Append($"  credentials issued to (【0023】)    : {Join(s.CredentialsIssuedTo)}\n");
        text.Append($"  credentials held from (【0023】)    : {Join(s.CredentialsHeldFrom)}\n");
        text.Append($"  proxy pins   : {Join(s.ProxyPins.Select(p => $"{p.Key} {p.Value}"))}\n");
        text.Append($"  users ({s.Users.Count}):\n");
        foreach (var u in s.Users)
        {
            text.Append($"    {u.Name,-12} registered {u.RegisteredAt:u}  {(u.RevokedAt is { } r ? $"REVOKED {r:u}" : $"{u.ActiveCertificates} active certificate(s)")}\n");
        }

        text.Append($"  holds certificate 1 now (step 910) ({s.Held.Count}):\n");
        foreach (var h in s.Held)
        {
            text.Append($"    {h.HandOffId} user {h.User} to {h.Destination} for proxy {h.RelayProxy}, held {(now - h.HeldSince).TotalSeconds:0} s, drops in {Math.Max(0, (h.ExpiresAt - now).TotalSeconds):0} s\n");
        }

        text.Append($"  pending hand-offs: {s.PendingHandOffs}\n");
        return Reply(line, s, text.ToString());
    }

    private static string Join(IEnumerable<string> items) => items.ToList() is { Count: > 0 } list ? string.Join(", ", list) : "(none)";

    /// <summary>A proxy's status and the node it runs on.</summary>
    private sealed record ProxyOnNode(ConsoleNode.ProxyAt At, ProxyStatus Status);

    /// <summary>A short bound for finding the proxies of the cluster: a member that does not answer at once is not waited for.</summary>
    private TimeSpan ProbeTimeout => TimeSpan.FromTicks(Math.Min(timeout.Ticks, TimeSpan.FromSeconds(2).Ticks));

    private async Task<IReadOnlyList<ProxyOnNode>> AllProxyStatusAsync() =>
        await Task.WhenAll((await node.ProxiesAsync(ProbeTimeout)).Select(async p => new ProxyOnNode(p, await p.Actor.Ask<ProxyStatus>(GetProxyStatus.Instance, timeout))));

    private async Task<ConsoleReply> ProxyListAsync(CommandLine line)
    {
        if (Arity(line, 2, "proxy list") is { } usage)
        {
            return usage;
        }

        var found = await AllProxyStatusAsync();
        var statuses = found.Select(f => f.Status).ToList();
        var text = string.Concat(found.Select(f => (f.Status, f.At.Node)).Select(f =>
            $"{f.Status.Proxy,-10} {f.Status.Address,-22} owner {f.Status.AuthServer,-8} live {f.Status.Sessions.Count,3}  accepted {f.Status.Accepted}  refused {f.Status.Refused}  bytes {f.Status.BytesRelayed}  on {f.Node}\n"));
        return Reply(line, statuses, text.Length == 0 ? "(no proxies)\n" : text);
    }

    private async Task<ConsoleReply> ProxyShowAsync(CommandLine line)
    {
        if (Arity(line, 3, "proxy show") is { } usage)
        {
            return usage;
        }

        var name = line.Positionals[2];
        if (!node.Topology.HasProxy(name))
        {
            return ConsoleReply.Failure($"no proxy '{name}' (known: {string.Join(", ", node.Topology.Proxies.Select(p => p.Name))})");
        }

        if ((await node.ProxiesAsync(ProbeTimeout)).FirstOrDefault(p => p.Proxy == name) is not { } at)
        {
            return ConsoleReply.Failure($"proxy '{name}' is not running on any reachable node of the cluster (see `cluster show`)");
        }

        var s = await at.Actor.Ask<ProxyStatus>(GetProxyStatus.Instance, timeout);
        var text = new StringBuilder($"proxy {s.Proxy}\n  node     : {at.Node}\n  listen   : {s.Address}\n  owner    : {s.AuthServer}\n  accepted : {s.Accepted}  refused {s.Refused}  bytes relayed {s.BytesRelayed}\n  connections ({s.Sessions.Count}):\n");
        foreach (var c in s.Sessions)
        {
            text.Append($"    {c.Id,-14} {c.Stage,-10} user {c.User ?? "-"}  session {c.HandOffId ?? "-"}  onward {c.OnwardTo ?? "-"}  in {c.BytesIn} out {c.BytesOut}\n");
        }

        return Reply(line, s, text.ToString());
    }

    // ---------------------------------------------------------------- sessions

    /// <summary>
    /// A client session across the chain: every proxy connection of one hand-off, entry proxy first,
    /// and the node each of those proxies runs on (<see cref="Nodes"/>, in the order of <see cref="Route"/>).
    /// </summary>
    public sealed record SessionView(string Id, string User, IReadOnlyList<string> Route, DateTimeOffset Since, double AgeSeconds, long BytesIn, long BytesOut,
        IReadOnlyList<string> Nodes)
    {
        /// <summary>Where each hop runs, so closing the session reaches every proxy of the chain (【0053】).</summary>
        internal IReadOnlyList<ICanTell> Actors { get; init; } = [];
    }

    /// <summary>The live sessions of every proxy of every reachable node: one hand-off's connections, on whichever nodes, are one session.</summary>
    private async Task<IReadOnlyList<SessionView>> SessionsAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var statuses = await AllProxyStatusAsync();
        return statuses
            .SelectMany(s => s.Status.Sessions.Where(c => c.HandOffId is not null).Select(c => (Hop: s.At, Connection: c)))
            .GroupBy(x => x.Connection.HandOffId!, StringComparer.Ordinal)
            .Select(g =>
            {
                var hops = g.OrderBy(x => x.Connection.Since).ToList();
                var entry = hops[0].Connection;
                return new SessionView(g.Key, entry.User ?? "-", hops.Select(h => h.Hop.Proxy).ToList(), entry.Since,
                    Math.Round((now - entry.Since).TotalSeconds, 1), entry.BytesIn, entry.BytesOut, hops.Select(h => h.Hop.Node).ToList())
                {
                    Actors = hops.Select(h => h.Hop.Actor).ToList(),
                };
            })
            .OrderBy(s => s.Since)
            .ToList();
    }

    private static string SessionText(SessionView s) =>
        $"{s.Id}  user {s.User}  route {string.Join(" -> ", s.Route)}  age {s.AgeSeconds:0.0} s  in {s.BytesIn} out {s.BytesOut}  on {string.Join(", ", s.Nodes.Distinct())}\n";

    /// <summary>【0053】: closing a session at its proxies, on whichever nodes they run, closes every connection of its chain and the client's.</summary>
    private static void Close(SessionView session, string reason, string? code = null, string? at = null)
    {
        foreach (var hop in session.Actors)
        {
            hop.Tell(new CloseSession(session.Id, reason, code, at), ActorRefs.NoSender);
        }
    }

    private async Task<ConsoleReply> SessionListAsync(CommandLine line)
    {
        if (Arity(line, 2, "session list") is { } usage)
        {
            return usage;
        }

        var sessions = await SessionsAsync();
        return Reply(line, sessions, sessions.Count == 0 ? "(no live sessions)\n" : string.Concat(sessions.Select(SessionText)));
    }

    private async Task<ConsoleReply> SessionShowAsync(CommandLine line)
    {
        if (Arity(line, 3, "session show") is { } usage)
        {
            return usage;
        }

        var session = (await SessionsAsync()).FirstOrDefault(s => s.Id == line.Positionals[2]);
        return session is null ? ConsoleReply.Failure($"no live session '{line.Positionals[2]}' (see `session list`)") : Reply(line, session, SessionText(session));
    }

    private async Task<ConsoleReply> SessionKillAsync(CommandLine line)
    {
        if (Arity(line, 3, "session kill") is { } usage)
        {
            return usage;
        }

        var session = (await SessionsAsync()).FirstOrDefault(s => s.Id == line.Positionals[2]);
        if (session is null)
        {
            return ConsoleReply.Failure($"no live session '{line.Positionals[2]}' (see `session list`)");
        }

        Close(session, "killed by the operator");

        return Reply(line, new { killed = session.Id, user = session.User, route = session.Route, nodes = session.Nodes }, $"session {session.Id} of {session.User} closed at {string.Join(", ", session.Route)} (on {string.Join(", ", session.Nodes.Distinct())})\n");
    }

    // ---------------------------------------------------------------- route trace, users

    private async Task<ConsoleReply> RouteTraceAsync(CommandLine line)
    {
        if (Arity(line, 4, "route trace") is { } usage)
        {
            return usage;
        }

        var (user, destination) = (line.Positionals[2], line.Positionals[3]);
        var home = await HomeOfAsync(user);
        RouteTraceResult result;
        if (home is { Revoked: true })
        {
            result = new RouteTraceResult(false, user, destination, [], [home.Server], [],
                new HandOffError(ErrorCodes.CertificateRevoked, home.Server,
                    PatentStep.Fig7Check702.Cite(), $"'{user}' was revoked at {home.Server}"), []);
        }
        else
        {
            // An inspection: the home server traces with a throw-away certificate, so the user's own stay as they are.
            result = await RouteTracer.TraceAsync(await ControlAsync(), node.System, user, destination, home?.Server);
        }

        return new ConsoleReply(result.Ok ? ConsoleReply.Ok : ConsoleReply.Failed, line.Json ? result.ToJson() + "\n" : result.ToText(),
            result.Ok || line.Json ? null : $"route trace failed: {result.Error}");
    }

    private sealed record Home(string Server, bool Revoked);

    /// <summary>
    /// The one server the user is registered at (【0012】). A server that does not answer (its node
    /// paused, cut off or failing over) is not the home of a user another server knows, so it does not
    /// stop a revocation there; only when no server that answered knows the user is its silence an error.
    /// </summary>
    private async Task<Home?> HomeOfAsync(string user)
    {
        var asked = node.Topology.AuthServers.Select(a => (a.Name, Status: AuthStatusAsync(a.Name))).ToList();
        var silent = new List<string>();
        foreach (var (name, status) in asked)
        {
            try
            {
                if ((await status).Users.FirstOrDefault(u => u.Name == user) is { } found)
                {
                    return new Home(name, found.RevokedAt is not null);
                }
            }
            catch (Exception e) when (e is AskTimeoutException or InvalidOperationException)
            {
                silent.Add(name);
            }
        }

        return silent.Count == 0
            ? null
            : throw new InvalidOperationException($"no auth server that answered knows '{user}'; {string.Join(", ", silent)} did not answer (see `cluster show`)");
    }

    /// <summary>【0012】: the user is registered at its home server only; the profile goes back to the operator.</summary>
    private async Task<ConsoleReply> UserAddAsync(CommandLine line)
    {
        if (Arity(line, 3, "user add") is { } usage)
        {
            return usage;
        }

        var user = line.Positionals[2];
        if (line.Option("--auth-server") is not { } server)
        {
            return ConsoleReply.UsageError("--auth-server is required", Palette.UsageOf("user add"));
        }

        if (!node.Topology.HasAuthServer(server))
        {
            return ConsoleReply.Failure($"no auth server '{server}' (known: {string.Join(", ", node.Topology.AuthServers.Select(a => a.Name))})");
        }

        if (await HomeOfAsync(user) is { } existing && existing.Server != server)
        {
            return ConsoleReply.Failure($"'{user}' is already registered at {existing.Server}");
        }

        if (await node.ProfileProblemAsync(server) is { } elsewhere)
        {
            return ConsoleReply.Failure(elsewhere);
        }

        var profile = await node.ProfileForAsync(await (await ControlAsync()).RegisterUserAsync(user, server, by: "console"));
        var reply = Reply(line, new { user, authServer = server, entries = profile.Entries }, $"user {user} registered at {server}; entry proxies: {Join(profile.Entries.Select(e => $"{e.Key} via {e.Value.Proxy}"))}\n");
        return reply with { ProfileJson = JsonSerializer.Serialize(profile, Json) };
    }

    /// <summary>Revocation refuses new sessions at once (step 702) and closes the user's live sessions (【0053】).</summary>
    private async Task<ConsoleReply> UserRevokeAsync(CommandLine line)
    {
        if (Arity(line, 3, "user revoke") is { } usage)
        {
            return usage;
        }

        var user = line.Positionals[2];
        var home = await HomeOfAsync(user);
        if (home is null)
        {
            return ConsoleReply.Failure($"no user '{user}' is registered at any auth server");
        }

        switch (await (await ControlAsync()).AskAsync<object>(home.Server, new RevokeUser(user, "console")))
        {
            case AdminRefused refused:
                return ConsoleReply.Failure(refused.Reason);
            case UserRevokedAck:
                break;
            case var other:
                return ConsoleReply.Failure($"unexpected answer {other}");
        }

        var closed = (await SessionsAsync()).Where(s => s.User == user).ToList();
        foreach (var session in closed)
        {
            Close(session, $"user {user} revoked at {home.Server}", ErrorCodes.CertificateRevoked, home.Server);
        }

        return Reply(line, new { user, authServer = home.Server, closedSessions = closed.Select(s => s.Id).ToList() },
            $"user {user} revoked at {home.Server}; closed {closed.Count} live session(s)\n");
    }

    private async Task<ConsoleReply> UserListAsync(CommandLine line)
    {
        if (Arity(line, 2, "user list") is { } usage)
        {
            return usage;
        }

        var users = (await AllAuthStatusAsync())
            .SelectMany(s => s.Users.Select(u => new { user = u.Name, authServer = s.Name, registeredAt = u.RegisteredAt, revokedAt = u.RevokedAt, activeCertificates = u.ActiveCertificates }))
            .OrderBy(u => u.user, StringComparer.Ordinal)
            .ToList();
        var text = string.Concat(users.Select(u => $"{u.user,-12} home {u.authServer,-8} {(u.revokedAt is null ? "active" : "revoked")}\n"));
        return Reply(line, users, users.Count == 0 ? "(no users)\n" : text);
    }

    /// <summary>Live names for tab completion: auth servers, proxies, users, members, destinations, sessions.</summary>
    private async Task<ConsoleReply> NamesAsync()
    {
        var users = (await AllAuthStatusAsync()).SelectMany(s => s.Users.Select(u => u.Name));
        var sessions = (await SessionsAsync()).Select(s => s.Id);
        var members = ClusterCommands.MemberAddresses(node.System);
        var names = node.Topology.AuthServers.Select(a => a.Name).Concat(node.Topology.Proxies.Select(p => p.Name))
            .Concat(node.Topology.Destinations.Keys).Concat(users).Concat(sessions).Concat(members).Distinct().Order(StringComparer.Ordinal);
        return ConsoleReply.Text(string.Join('\n', names) + "\n");
    }
}
