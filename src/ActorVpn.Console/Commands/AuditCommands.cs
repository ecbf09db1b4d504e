using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ActorVpn.Hosting;
using ActorVpn.Hosting.Audit;
using Akka.Actor;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// The audit palette: <c>audit tail</c> and <c>audit query</c> read the node's durable
/// audit trail (<see cref="AuditReader"/>), and every <c>user add</c> / <c>user revoke</c> an
/// operator runs is written to it, under the operator's certificate subject, before it is carried
/// out (<see cref="AuditedAsync"/>: fail closed).
/// </summary>
public sealed class AuditCommands(ConsoleNode node, TimeSpan timeout)
{
    public const int DefaultLines = 50;
    public const int MaxLines = 10_000;

    private const string TimeHelp = "ISO 8601 (2026-11-25, 2026-11-25T18:00:00Z) or an age back from now (90s, 15m, 2h, 7d)";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly Option<int?> TailLines = ConsoleValues.Number("--lines", 1, MaxLines, $"how many of the latest records (default {DefaultLines})");
    private static readonly Option<int?> QueryLines = ConsoleValues.Number("--lines", 1, MaxLines, $"at most this many records (default {DefaultLines})");
    private static readonly Option<string?> User = ConsoleValues.Text("--user", "U", "only this user's records");
    private static readonly Option<DateTimeOffset?> Since = Time("--since", "from this time on", required: true);
    private static readonly Option<DateTimeOffset?> Until = Time("--until", "up to this time (default now)");
    private static readonly Option<string?> Outcome = ConsoleValues.Choice("--outcome", [AuditRecord.Ok, AuditRecord.Error], "only records with this outcome",
        outcome => $"--outcome takes ok or error, not '{outcome}'");

    public static readonly IReadOnlyList<ConsoleVerb> Verbs =
    [
        new("audit tail", "the latest session attempts and operator actions of the durable audit trail", TailLines),
        new("audit query", "the audit trail in a time window (T: " + TimeHelp + ")", User, Since, Until, Outcome, QueryLines),
    ];

    /// <summary>Binds <paramref name="words"/> (an <c>audit</c> verb) and runs it.</summary>
    public async Task<ConsoleReply> RunAsync(IReadOnlyList<string> words)
    {
        var (call, problem) = ConsoleGrammar.Bind(words);
        return call is null ? problem! : await RunAsync(call);
    }

    public async Task<ConsoleReply> RunAsync(VerbCall call)
    {
        try
        {
            if (call.Words == "audit tail")
            {
                return Reply(call.Json, await new AuditReader(node.System, timeout).TailAsync(call.Value(TailLines) ?? DefaultLines));
            }

            var (since, until) = (call.Value(Since)!.Value, call.Value(Until));
            if (until < since)
            {
                return ConsoleReply.UsageError($"--until ({until:u}) is before --since ({since:u})", call.Verb.Usage);
            }

            var filter = new AuditFilter(call.Value(User), since, until, call.Value(Outcome), call.Value(QueryLines) ?? DefaultLines);
            return Reply(call.Json, await new AuditReader(node.System, timeout).QueryAsync(filter));
        }
        catch (Exception e) when (e is AskTimeoutException or TimeoutException)
        {
            return ConsoleReply.Failure($"'{call.Words}' timed out after {timeout.TotalSeconds:0} s (the node is still running)");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return ConsoleReply.Failure($"{AuditCodes.StoreUnavailable}: the audit trail cannot be read now: {e.GetBaseException().Message}");
        }
    }

    /// <summary>A time as an operator types it: ISO 8601 (UTC unless it names an offset), or an age back from <paramref name="now"/>.</summary>
    public static DateTimeOffset? ParseTime(string text, DateTimeOffset now)
    {
        if (OperatorDuration.Parse(text) is { } span)
        {
            return span < TimeSpan.FromDays(100 * 365) ? now - span : null;
        }

        return text.Length >= 10 && char.IsAsciiDigit(text[0])
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : null;
    }

    private static Option<DateTimeOffset?> Time(string name, string description, bool required = false) =>
        ConsoleValues.Parsed(name, "T", description, text => ParseTime(text, DateTimeOffset.UtcNow), text => $"{name}: '{text}' is not a time ({TimeHelp})", required);

    private static ConsoleReply Reply(bool json, AuditPage page)
    {
        var p = page.Position;
        if (json)
        {
            return ConsoleReply.Text(JsonSerializer.Serialize(new
            {
                ok = true,
                records = page.Records,
                truncated = page.Truncated,
                trail = new { persistenceId = p.PersistenceId, highestSequenceNr = p.HighestSequenceNr, writable = p.Writable, pending = p.Pending, dropped = p.Dropped, lastFailure = p.LastFailure },
            }, Json) + "\n");
        }

        var text = new StringBuilder();
        if (!p.Writable || p.Pending > 0 || p.Dropped > 0)
        {
            text.Append($"! audit trail {(p.Writable ? "writable" : "NOT WRITABLE (store unavailable" + (p.LastFailure is null ? ")" : $": {p.LastFailure})"))}; {p.Pending} record(s) waiting, {p.Dropped} dropped (see the log)\n");
        }

        foreach (var record in page.Records)
        {
            text.Append(record.ToText());
        }

        text.Append(page.Records.Count == 0 ? "(no audit records)\n" : page.Truncated ? $"({page.Records.Count} shown; more match: use --lines or a narrower window)\n" : string.Empty);
        return ConsoleReply.Text(text.ToString());
    }

    // ---------------------------------------------------------------- operator actions

    /// <summary>
    /// Runs <paramref name="run"/> (the console's own <c>user add</c> / <c>user revoke</c>, and
    /// <c>operator add</c> / <c>operator revoke</c>, whose record's user is the operator added or revoked) between two
    /// audit records: <c>started</c>, confirmed by the store before anything is done (fail closed: if
    /// it cannot be written, the action is refused with <c>store-unavailable</c>), then the outcome.
    /// Any other command runs as it is.
    /// </summary>
    public async Task<ConsoleReply> AuditedAsync(string operatorName, VerbCall call, Func<Task<ConsoleReply>> run)
    {
        // A route trace changes nothing, but it runs a real hand-off for a user: who looked, and at whom, is on record.
        var trace = call.Words == "route trace";
        // Each phase of a signing-key rotation is an operator action on an auth server (its `status` is an inspection).
        var rotation = RotationCommands.IsPhase(call);
        if (!trace && !rotation && call.Words is not ("user add" or "user revoke" or "operator add" or "operator revoke"))
        {
            return await run();
        }

        var arguments = call.Arguments;
        var action = rotation ? $"auth rotate {arguments[1]}" : call.Words;
        var server = rotation ? arguments[0] : call.Given("--auth-server");
        var subject = rotation ? AuditRecord.NoUser : arguments[0];
        var started = new AuditRecord(AuditRecord.Admin, Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant(), action, subject, operatorName,
            server, trace ? arguments[1] : null, [], [], AuditRecord.Started, null, call.Line, DateTimeOffset.UtcNow, null);
        if (await WriteAsync(started) is { } refused)
        {
            return ConsoleReply.Failure($"{refused.Code}: '{action} {arguments[0]}' was not carried out: {refused.Reason} (operator actions are refused while they cannot be audited)");
        }

        var reply = await run();
        var ok = reply.Exit == ConsoleReply.Ok;
        var done = started with
        {
            Outcome = ok ? AuditRecord.Ok : AuditRecord.Error,
            ErrorCode = ok ? null : reply.Exit == ConsoleReply.Usage ? "usage" : "refused",
            Message = ok ? null : reply.Error?.Split('\n')[0],
            End = DateTimeOffset.UtcNow,
        };
        if (await WriteAsync(done) is { } lost)
        {
            return reply with
            {
                Exit = ConsoleReply.Failed,
                Error = $"{lost.Code}: '{action} {arguments[0]}' {(ok ? "was carried out" : "failed")}, but its outcome could not be written to the audit trail ({lost.Reason}); the trail holds it as 'started'",
            };
        }

        return reply;
    }

    private async Task<AuditRefused?> WriteAsync(AuditRecord record)
    {
        try
        {
            return await node.System.ActorSelection($"/user/{AuditLog.Name}").Ask<object>(new RecordAdminAction(record), timeout) switch
            {
                AuditWritten => null,
                AuditRefused refused => refused,
                var other => new AuditRefused(AuditCodes.StoreUnavailable, $"unexpected answer {other}"),
            };
        }
        catch (AskTimeoutException)
        {
            return new AuditRefused(AuditCodes.StoreUnavailable, $"the audit trail did not answer within {timeout.TotalSeconds:0} s");
        }
    }
}
