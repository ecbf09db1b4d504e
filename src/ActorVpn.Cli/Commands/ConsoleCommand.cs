using System.CommandLine;
using ActorVpn.OperatorConsole;
using ActorVpn.OperatorConsole.Client;

namespace ActorVpn.Cli.Commands;

/// <summary><c>avpn console</c> and the short forms <c>avpn user add|revoke|list</c>: all go through the console connection.</summary>
public static class ConsoleCommand
{
    private static Option<string> Admin() => new("--admin")
    {
        Description = "Operator credential written by `avpn up` (names the console endpoint)",
        DefaultValueFactory = _ => "./data/admin.avpn",
    };

    public static Command Create()
    {
        var admin = Admin();
        var words = new Argument<string[]>("command") { Description = "A console command to run once (after --), e.g. -- auth list --json", Arity = ArgumentArity.ZeroOrMore };
        var console = new Command("console", "Live inspection and administration of a running system: an interactive prompt, or `-- COMMAND...` once")
        {
            admin, words,
        };
        console.SetAction(async (parse, _) =>
        {
            try
            {
                var command = parse.GetValue(words) ?? [];
                if (ConsoleShell.OneShotProblem(command) is { } unbounded)
                {
                    throw new CliException(unbounded, CliRunner.Usage);
                }

                var credential = OperatorCredential.Load(parse.GetValue(admin)!);
                await using var client = await ConsoleClient.ConnectAsync(credential);
                return command.Length == 0
                    ? await ConsoleShell.InteractiveAsync(client, credential.Endpoint)
                    : await ConsoleShell.RunOneAsync(client, command, Console.Out, Console.Error);
            }
            catch (Exception e)
            {
                return CliRunner.Report(e);
            }
        });
        return console;
    }

    /// <summary><c>avpn user add NAME --auth-server AS --out P | revoke NAME | list</c>: the console's <c>user</c> palette.</summary>
    public static Command User()
    {
        var user = new Command("user", "User administration against a running system (through its console)");
        var name = new Argument<string>("NAME") { Description = "User name" };
        var server = new Option<string>("--auth-server") { Description = "The user's home auth server (the only one it is registered at)", Required = true };
        var output = new Option<string?>("--out") { Description = "Where to write the client profile (default NAME.avpn)" };
        var add = new Command("add", "Register a user at its home server and write its client profile") { name, server, output };
        AddCommon(add, parse => ["user", "add", parse.GetValue(name)!, "--auth-server", parse.GetValue(server)!, .. parse.GetValue(output) is { } o ? new[] { "--out", o } : []]);

        var revokeName = new Argument<string>("NAME") { Description = "User name" };
        var revoke = new Command("revoke", "Refuse the user's new sessions at once and close its live ones") { revokeName };
        AddCommon(revoke, parse => ["user", "revoke", parse.GetValue(revokeName)!]);

        var list = new Command("list", "Every user of every auth server");
        AddCommon(list, _ => ["user", "list"]);

        user.Subcommands.Add(add);
        user.Subcommands.Add(revoke);
        user.Subcommands.Add(list);
        return user;
    }

    private static void AddCommon(Command command, Func<ParseResult, string[]> words)
    {
        var admin = Admin();
        var json = new Option<bool>("--json") { Description = "Print the outcome as JSON" };
        command.Options.Add(admin);
        command.Options.Add(json);
        command.SetAction(async (parse, _) =>
        {
            try
            {
                var credential = OperatorCredential.Load(parse.GetValue(admin)!);
                await using var client = await ConsoleClient.ConnectAsync(credential);
                return await ConsoleShell.RunOneAsync(client, [.. words(parse), .. parse.GetValue(json) ? new[] { "--json" } : []], Console.Out, Console.Error);
            }
            catch (Exception e)
            {
                return CliRunner.Report(e);
            }
        });
    }
}
