using System.Text.Json;
using ActorVpn.Hosting;
using Akka.Actor;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// Runs one console command against a running node. Every call is asynchronous (asks with
/// timeouts, never a blocking wait), so a console connection actor can pipe the outcome to itself
/// and the node keeps running whatever a command does.
/// </summary>
public sealed class ConsoleCommands(ConsoleNode node, TimeSpan timeout)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ClusterCommands _cluster = new(node, timeout);
    private readonly RotationCommands _rotation = new(node, timeout);
    private readonly NodeQueries _queries = new(node, timeout);

    private InspectionCommands Inspection => new(node);

    private AuthServerCommands AuthServers => new(node, _queries);

    private ProxyCommands Proxies => new(node, timeout, _queries);

    private SessionCommands Sessions => new(_queries);

    private UserCommands Users => new(node, _queries);

    public ConsoleCommands(VpnNode node, TimeSpan timeout)
        : this(new SingleProcessConsoleNode(node), timeout)
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

    /// <summary>Help on a verb is answered from its definition alone, before anything runs or is audited.</summary>
    private static ConsoleReply? HelpFor(IReadOnlyList<string> words) => ConsoleGrammar.AsksForHelp(words) ? ConsoleReply.Text(ConsoleGrammar.Help(words)) : null;

    /// <param name="by">The operator who runs the command, for what the auth servers record of it.</param>
    private async Task<ConsoleReply> RunCommandAsync(IReadOnlyList<string> words, string by) =>
        HelpFor(words) ?? ConsoleGrammar.WithHelpHint(await RunVerbAsync(words, by), words);

    private async Task<ConsoleReply> RunVerbAsync(IReadOnlyList<string> words, string by)
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
                "actor hierarchy" => Inspection.ActorHierarchy(line),
                "log peek" => Inspection.LogPeek(line),
                "auth list" => await AuthServers.AuthListAsync(line),
                "auth show" => await AuthServers.AuthShowAsync(line),
                "auth rotate" => await _rotation.RunAsync(line, by),
                "proxy list" => await Proxies.ProxyListAsync(line),
                "proxy show" => await Proxies.ProxyShowAsync(line),
                "session list" => await Sessions.SessionListAsync(line),
                "session show" => await Sessions.SessionShowAsync(line),
                "session kill" => await Sessions.SessionKillAsync(line),
                "route trace" => await Users.RouteTraceAsync(line),
                "user add" => await Users.UserAddAsync(line),
                "user revoke" => await Users.UserRevokeAsync(line),
                "user list" => await Users.UserListAsync(line),
                "names" => await Users.NamesAsync(),
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
    public async Task<ConsoleReply> RunAsync(IReadOnlyList<string> words, string operatorName) => HelpFor(words) ?? ConsoleGrammar.WithHelpHint(AuditCommands.Handles(words)
        ? await new AuditCommands(node, timeout).RunAsync(words)
        : await new AuditCommands(node, timeout).AuditedAsync(operatorName, words,
            () => OperatorCommands.Handles(words) && Operators is { } operators ? Task.FromResult(operators.Run(words)) : RunVerbAsync(words, operatorName)), words);

    internal static ConsoleReply Reply(CommandLine line, object json, string text) =>
        ConsoleReply.Text(line.Json ? JsonSerializer.Serialize(json, Json) + "\n" : text);

    internal static ConsoleReply? Arity(CommandLine line, int count, string words) =>
        line.Positionals.Count == count ? null : ConsoleReply.UsageError($"'{words}' takes {(count == 2 ? "no" : count - 2)} argument{(count == 3 ? string.Empty : "s")}", Palette.UsageOf(words));

    /// <summary>A name the topology does not declare: the failure names the ones it does.</summary>
    internal static ConsoleReply NoSuch(string kind, string name, IEnumerable<string> known) =>
        ConsoleReply.Failure($"no {kind} '{name}' (known: {string.Join(", ", known)})");

    internal static string Join(IEnumerable<string> items) => items.ToList() is { Count: > 0 } list ? string.Join(", ", list) : "(none)";
}
