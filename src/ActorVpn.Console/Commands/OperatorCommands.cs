using System.CommandLine;
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
    private static readonly Argument<string> NewOperator = ConsoleValues.Word("NAME");
    private static readonly Argument<string> RevokedOperator = ConsoleValues.Word("NAME");

    /// <summary>Where the operator's side writes the credential (<c>ConsoleShell</c>); the node itself writes nothing.</summary>
    public static readonly Option<string?> CredentialOut = ConsoleValues.Text("--out", "P", "where to write the credential (default NAME.admin.avpn)");

    public static readonly IReadOnlyList<ConsoleVerb> Verbs =
    [
        new("operator add", "issue a named operator credential for this console (written to --out, default NAME.admin.avpn)", NewOperator, CredentialOut),
        new("operator revoke", "refuse every credential of the operator at the console's handshake from now on", RevokedOperator),
        new("operator list", "every operator credential issued here, and which are revoked"),
    ];

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>Where the console listens, written into the credentials it issues (known once it listens).</summary>
    public string Endpoint { get; set; } = string.Empty;

    public ConsoleReply Run(VerbCall call)
    {
        if (call.Words == "operator list")
        {
            return List(call);
        }

        var name = call.Value(call.Words == "operator add" ? NewOperator : RevokedOperator);
        try
        {
            return call.Words == "operator add" ? Add(call, name) : Revoke(call, name);
        }
        catch (ArgumentException e)
        {
            return ConsoleReply.UsageError($"'{name}' is not an operator name: {e.Message}", call.Verb.Usage);
        }
    }

    private ConsoleReply Add(VerbCall call, string name)
    {
        var credential = authority.IssueOperator(name, Endpoint, _clock.GetUtcNow());
        using var certificate = CertificateText.FromPem(credential.CertificatePem);
        var reply = ConsoleCommands.Reply(call, new { ok = true, @operator = name, serial = certificate.SerialNumber, notAfter = certificate.NotAfter.ToUniversalTime() },
            $"operator {name} added (certificate serial {certificate.SerialNumber}, valid until {certificate.NotAfter.ToUniversalTime():u})\n");
        return reply with { OperatorJson = credential.ToFileText() };
    }

    private ConsoleReply Revoke(VerbCall call, string name)
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

        return ConsoleCommands.Reply(call, new { ok = true, @operator = name, revokedCertificates = revoked },
            $"operator {name} revoked ({revoked} certificate(s)); new console connections with its credential are refused at the handshake\n");
    }

    private ConsoleReply List(VerbCall call)
    {
        var entries = authority.Operators.Entries;
        var text = string.Concat(entries.Select(e =>
            $"{e.Name,-16} serial {e.Serial} issued {e.IssuedAt.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}" +
            (e.RevokedAt is { } at ? $" REVOKED {at.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}" : string.Empty) + "\n"));
        return ConsoleCommands.Reply(call, entries, entries.Count == 0 ? "(no operators)\n" : text);
    }
}
