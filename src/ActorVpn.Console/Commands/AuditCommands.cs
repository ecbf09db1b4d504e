using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
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

    private static readonly HashSet<string> ValueOptions = new(StringComparer.Ordinal) { "--lines", "--user", "--since", "--until", "--outcome" };

    public static readonly IReadOnlyList<Palette.Entry> Entries =
    [
        new("audit tail", "audit tail [--lines N] [--json]", "the latest session attempts and operator actions of the durable audit trail"),
        new("audit query", "audit query [--user U] --since T [--until T] [--outcome ok|error] [--lines N] [--json]", "the audit trail in a time window (T: " + TimeHelp + ")"),
    ];

    public static bool Handles(IReadOnlyList<string> words) => words.Count > 0 && words[0] == "audit";

    public async Task<ConsoleReply> RunAsync(IReadOnlyList<string> words)
    {
        var positionals = new List<string>();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var json = false;
        for (var k = 0; k < words.Count; k++)
        {
            if (words[k] == "--json")
            {
                json = true;
            }
            else if (ValueOptions.Contains(words[k]))
            {
                if (k + 1 >= words.Count)
                {
                    return Usage($"{words[k]} needs a value", words);
                }

                options[words[k]] = words[++k];
            }
            else if (words[k].StartsWith("--", StringComparison.Ordinal))
            {
                return Usage($"unknown option '{words[k]}'", words);
            }
            else
            {
                positionals.Add(words[k]);
            }
        }

        var verb = string.Join(' ', positionals.Take(2));
        if (positionals.Count != 2 || verb is not ("audit tail" or "audit query"))
        {
            return Usage(positionals.Count > 2 ? $"'{verb}' takes no arguments" : $"unknown command '{string.Join(' ', positionals)}'", words);
        }

        var lines = DefaultLines;
        if (options.TryGetValue("--lines", out var n) && (!int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out lines) || lines < 1 || lines > MaxLines))
        {
            return Usage($"--lines takes a number from 1 to {MaxLines}", words);
        }

        try
        {
            if (verb == "audit tail")
            {
                if (options.Keys.FirstOrDefault(o => o != "--lines") is { } stray)
                {
                    return Usage($"'audit tail' does not take {stray}", words);
                }

                return Reply(json, await new AuditReader(node.System, timeout).TailAsync(lines));
            }

            var now = DateTimeOffset.UtcNow;
            if (!options.TryGetValue("--since", out var sinceText))
            {
                return Usage("--since is required", words);
            }

            if (ParseTime(sinceText, now) is not { } since)
            {
                return Usage($"--since: '{sinceText}' is not a time ({TimeHelp})", words);
            }

            DateTimeOffset? until = null;
            if (options.TryGetValue("--until", out var untilText))
            {
                if (ParseTime(untilText, now) is not { } parsed)
                {
                    return Usage($"--until: '{untilText}' is not a time ({TimeHelp})", words);
                }

                if (parsed < since)
                {
                    return Usage($"--until ({parsed:u}) is before --since ({since:u})", words);
                }

                until = parsed;
            }

            var outcome = options.GetValueOrDefault("--outcome");
            if (outcome is not (null or AuditRecord.Ok or AuditRecord.Error))
            {
                return Usage($"--outcome takes ok or error, not '{outcome}'", words);
            }

            var user = options.GetValueOrDefault("--user");
            return Reply(json, await new AuditReader(node.System, timeout).QueryAsync(new AuditFilter(user, since, until, outcome, lines)));
        }
        catch (Exception e) when (e is AskTimeoutException or TimeoutException)
        {
            return ConsoleReply.Failure($"'{verb}' timed out after {timeout.TotalSeconds:0} s (the node is still running)");
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

    private static ConsoleReply Usage(string problem, IReadOnlyList<string> words) =>
        ConsoleReply.UsageError(problem, Palette.UsageOf(words.Count > 1 && words[1] is "tail" or "query" ? $"audit {words[1]}" : "audit"));

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
    public async Task<ConsoleReply> AuditedAsync(string operatorName, IReadOnlyList<string> words, Func<Task<ConsoleReply>> run)
    {
        var p = words.TakeWhile(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
        // A route trace changes nothing, but it runs a real hand-off for a user: who looked, and at whom, is on record.
        var trace = p is ["route", "trace", _, _];
        // Each phase of a signing-key rotation is an operator action on an auth server (its `status` is an inspection).
        var rotation = RotationCommands.IsPhase(p);
        if (!trace && !rotation && (p.Count != 3 || p[0] is not ("user" or "operator") || p[1] is not ("add" or "revoke")))
        {
            return await run();
        }

        var action = rotation ? $"auth rotate {p[3]}" : $"{p[0]} {p[1]}";
        var index = words.ToList().IndexOf("--auth-server");
        var server = rotation ? p[2] : index >= 0 && index + 1 < words.Count ? words[index + 1] : null;
        var subject = rotation ? AuditRecord.NoUser : p[2];
        var started = new AuditRecord(AuditRecord.Admin, Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant(), action, subject, operatorName,
            server, trace ? p[3] : null, [], [], AuditRecord.Started, null, string.Join(' ', words), DateTimeOffset.UtcNow, null);
        if (await WriteAsync(started) is { } refused)
        {
            return ConsoleReply.Failure($"{refused.Code}: '{action} {p[2]}' was not carried out: {refused.Reason} (operator actions are refused while they cannot be audited)");
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
                Error = $"{lost.Code}: '{action} {p[2]}' {(ok ? "was carried out" : "failed")}, but its outcome could not be written to the audit trail ({lost.Reason}); the trail holds it as 'started'",
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
