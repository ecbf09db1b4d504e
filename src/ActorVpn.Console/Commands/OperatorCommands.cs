using ActorVpn.Credentials;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// Named operators: <c>operator add NAME</c> issues a credential signed by the console authority
/// (handed to the operator's side, which writes it to <c>--out</c>), <c>operator revoke NAME</c>
/// makes every certificate of that name fail the console's handshake from then on, and
/// <c>operator list</c> shows who may open the console. Each operator's own name is what the audit
/// trail records for the actions it runs; add and revoke are themselves audited operator actions.
/// </summary>
public sealed class OperatorCommands(ConsoleAuthority authority, TimeProvider? clock = null)
{
    public static readonly IReadOnlyList<Palette.Entry> Entries =
    [
        new("operator add", "operator add NAME [--out P] [--json]", "issue a named operator credential for this console (written to --out, default NAME.admin.avpn)"),
        new("operator revoke", "operator revoke NAME [--json]", "refuse every credential of the operator at the console's handshake from now on"),
        new("operator list", "operator list [--json]", "every operator credential issued here, and which are revoked"),
    ];

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>Where the console listens, written into the credentials it issues (known once it listens).</summary>
    public string Endpoint { get; set; } = string.Empty;

    public static bool Handles(IReadOnlyList<string> words) => words.Count > 0 && words[0] == "operator";

    public ConsoleReply Run(IReadOnlyList<string> words)
    {
        var (line, problem) = CommandLine.Parse(words);
        var verb = words.Count > 1 ? $"operator {words[1]}" : "operator";
        if (line is null)
        {
            return ConsoleReply.UsageError(problem!, Palette.UsageOf(verb));
        }

        var p = line.Positionals;
        verb = p.Count > 1 ? $"operator {p[1]}" : "operator";
        if (verb is "operator list")
        {
            return ConsoleCommands.Arity(line, 2, verb) ?? List(line);
        }

        if (verb is not ("operator add" or "operator revoke"))
        {
            return ConsoleReply.UsageError($"unknown command '{string.Join(' ', p)}'", Palette.UsageOf("operator"));
        }

        if (ConsoleCommands.Arity(line, 3, verb) is { } usage)
        {
            return usage;
        }

        var name = p[2];
        try
        {
            return verb == "operator add" ? Add(line, name) : Revoke(line, name);
        }
        catch (ArgumentException e)
        {
            return ConsoleReply.UsageError($"'{name}' is not an operator name: {e.Message}", Palette.UsageOf(verb));
        }
    }

    private ConsoleReply Add(CommandLine line, string name)
    {
        var credential = authority.IssueOperator(name, Endpoint, _clock.GetUtcNow());
        using var certificate = CertificateText.FromPem(credential.CertificatePem);
        var reply = ConsoleCommands.Reply(line, new { ok = true, @operator = name, serial = certificate.SerialNumber, notAfter = certificate.NotAfter.ToUniversalTime() },
            $"operator {name} added (certificate serial {certificate.SerialNumber}, valid until {certificate.NotAfter.ToUniversalTime():u})\n");
        return reply with { OperatorJson = credential.ToFileText() };
    }

    private ConsoleReply Revoke(CommandLine line, string name)
    {
        int revoked;
        try
        {
            revoked = authority.Operators.Revoke(name, _clock.GetUtcNow());
        }
        catch (InvalidOperationException e)
        {
            return ConsoleReply.Failure(e.Message);
        }

        return ConsoleCommands.Reply(line, new { ok = true, @operator = name, revokedCertificates = revoked },
            $"operator {name} revoked ({revoked} certificate(s)); new console connections with its credential are refused at the handshake\n");
    }

    private ConsoleReply List(CommandLine line)
    {
        var entries = authority.Operators.Entries;
        var text = string.Concat(entries.Select(e =>
            $"{e.Name,-16} serial {e.Serial} issued {e.IssuedAt.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}" +
            (e.RevokedAt is { } at ? $" REVOKED {at.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}" : string.Empty) + "\n"));
        return ConsoleCommands.Reply(line, entries, entries.Count == 0 ? "(no operators)\n" : text);
    }
}
