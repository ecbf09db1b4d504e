using System.CommandLine;
using ActorVpn.OperatorConsole;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.OperatorConsole.Commands;

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

    /// <summary>
    /// <c>avpn user add NAME --auth-server AS --out P | revoke NAME | list</c>: the console's <c>user</c>
    /// verbs, built from their one definition, run through the console connection.
    /// </summary>
    public static Command User()
    {
        var user = new Command("user", "User administration against a running system (through its console)");
        foreach (var verb in Palette.Commands.Where(v => v.Words.StartsWith("user ", StringComparison.Ordinal)))
        {
            var command = new Command(verb.Words.Split(' ')[1], verb.Summary);
            foreach (var argument in verb.Arguments)
            {
                command.Arguments.Add(argument);
            }

            foreach (var option in verb.Options)
            {
                command.Options.Add(option);
            }

            var admin = Admin();
            command.Options.Add(admin);
            command.SetAction(async (parse, _) =>
            {
                try
                {
                    var credential = OperatorCredential.Load(parse.GetValue(admin)!);
                    await using var client = await ConsoleClient.ConnectAsync(credential);
                    return await ConsoleShell.RunOneAsync(client, [.. verb.Words.Split(' '), .. WordsOf(verb, parse)], Console.Out, Console.Error);
                }
                catch (Exception e)
                {
                    return CliRunner.Report(e);
                }
            });
            user.Subcommands.Add(command);
        }

        return user;
    }

    /// <summary>The verb's arguments and the options given, as the console reads them (without <c>--admin</c>, which is this side's).</summary>
    private static IEnumerable<string> WordsOf(ConsoleVerb verb, ParseResult parse) =>
        verb.Arguments.SelectMany(a => parse.GetResult(a)?.Tokens.Select(t => t.Value) ?? [])
            .Concat(verb.Options.SelectMany(o => parse.GetResult(o) is { Implicit: false } given
                ? given.Tokens.Select(t => t.Value).Prepend(o.Name)
                : []));
}
