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

    /// <summary>The named-operator commands of this node's console; null where no console authority is at hand.</summary>
    public OperatorCommands? Operators { get; init; }

    /// <summary>The node these commands run on.</summary>
    public ConsoleNode Node => node;

    /// <summary>
    /// A command that streams (<c>cluster tail</c>): the props of the actor that sends its replies
    /// (<see cref="ConsoleReply.More"/> until the last) to <paramref name="connection"/>; a usage
    /// error; or (null, null) when <paramref name="words"/> is an ordinary command for <see cref="RunAsync(IReadOnlyList{string})"/>.
    /// </summary>
    public (Props? Stream, ConsoleReply? Refused) StreamOf(IReadOnlyList<string> words, IActorRef connection)
    {
        if (words is not ["cluster", "tail", ..] || ConsoleGrammar.AsksForHelp(words))
        {
            return (null, null);
        }

        var (call, problem) = ConsoleGrammar.Bind(words);
        return call is null ? (null, ConsoleGrammar.WithHelpHint(problem!, words)) : _cluster.Tail(call, connection);
    }

    public Task<ConsoleReply> RunAsync(IReadOnlyList<string> words) => RunCommandAsync(words, call => RunVerbAsync(call, by: "console"));

    /// <summary>A command from an authenticated operator: the audit palette, and operator actions written to the audit trail (<see cref="AuditCommands"/>).</summary>
    public Task<ConsoleReply> RunAsync(IReadOnlyList<string> words, string operatorName) => RunCommandAsync(words, call =>
    {
        var audit = new AuditCommands(node, timeout);
        return call.Words.StartsWith("audit ", StringComparison.Ordinal)
            ? audit.RunAsync(call)
            : audit.AuditedAsync(operatorName, call, () => call.Words.StartsWith("operator ", StringComparison.Ordinal) && Operators is { } operators
                ? Task.FromResult(operators.Run(call))
                : RunVerbAsync(call, operatorName));
    });

    /// <summary>
    /// Help on a verb is answered from its definition alone, before anything runs or is audited; so is
    /// <c>help</c> and a call that does not bind (a usage error); the hidden <c>names</c> lists live names for completion.
    /// </summary>
    private async Task<ConsoleReply> RunCommandAsync(IReadOnlyList<string> words, Func<VerbCall, Task<ConsoleReply>> run)
    {
        if (ConsoleGrammar.AsksForHelp(words))
        {
            return ConsoleReply.Text(ConsoleGrammar.Help(words));
        }

        if (words.TakeWhile(w => !w.StartsWith('-')).ToList() is [] or ["help"])
        {
            return ConsoleReply.Text(Palette.Help());
        }

        if (words is ["names"])
        {
            return await Users.NamesAsync();
        }

        var (call, problem) = ConsoleGrammar.Bind(words);
        return ConsoleGrammar.WithHelpHint(call is null ? problem! : await run(call), words);
    }

    /// <param name="by">The operator who runs the command, for what the auth servers record of it.</param>
    private async Task<ConsoleReply> RunVerbAsync(VerbCall call, string by)
    {
        try
        {
            return call.Words switch
            {
                "cluster show" => await _cluster.ShowAsync(call),
                "cluster leave" => _cluster.Leave(call),
                "cluster down" => _cluster.Down(call),
                "cluster tail" => ConsoleReply.UsageError("'cluster tail' streams: run it on a console connection", call.Verb.Usage),
                "actor hierarchy" => Inspection.ActorHierarchy(call),
                "log peek" => Inspection.LogPeek(call),
                "auth list" => await AuthServers.AuthListAsync(call),
                "auth show" => await AuthServers.AuthShowAsync(call),
                "auth rotate" => await _rotation.RunAsync(call, by),
                "proxy list" => await Proxies.ProxyListAsync(call),
                "proxy show" => await Proxies.ProxyShowAsync(call),
                "session list" => await Sessions.SessionListAsync(call),
                "session show" => await Sessions.SessionShowAsync(call),
                "session kill" => await Sessions.SessionKillAsync(call),
                "route trace" => await Users.RouteTraceAsync(call),
                "user add" => await Users.UserAddAsync(call),
                "user revoke" => await Users.UserRevokeAsync(call),
                "user list" => await Users.UserListAsync(call),
                // The audit and operator verbs are an authenticated operator's (see RunAsync(words, operatorName)).
                _ => ConsoleReply.UsageError($"unknown command '{call.Words}'", Palette.UsageOf(call.Words.Split(' ')[0])),
            };
        }
        catch (AskTimeoutException)
        {
            return ConsoleReply.Failure($"'{call.Words}' timed out after {timeout.TotalSeconds:0} s (the node is still running)");
        }
        catch (InvalidOperationException e)
        {
            return ConsoleReply.Failure(e.Message);
        }
    }

    internal static ConsoleReply Reply(VerbCall call, object json, string text) =>
        ConsoleReply.Text(call.Json ? JsonSerializer.Serialize(json, Json) + "\n" : text);

    /// <summary>A name the topology does not declare: the failure names the ones it does.</summary>
    internal static ConsoleReply NoSuch(string kind, string name, IEnumerable<string> known) =>
        ConsoleReply.Failure($"no {kind} '{name}' (known: {string.Join(", ", known)})");

    internal static string Join(IEnumerable<string> items) => items.ToList() is { Count: > 0 } list ? string.Join(", ", list) : "(none)";
}
