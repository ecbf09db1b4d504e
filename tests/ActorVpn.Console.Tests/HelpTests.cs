using ActorVpn.OperatorConsole.Client;
using ActorVpn.OperatorConsole.Commands;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary><c>--help</c> on a console verb, the hint a usage error carries, and option completion: all from the verb's one definition.</summary>
public sealed class HelpTests(SharedSystem shared) : IClassFixture<SharedSystem>
{
    [Fact]
    public async Task Help_on_a_verb_shows_its_arguments_and_options_and_runs_nothing()
    {
        var reply = await shared.System.RunAsync("user", "add", "--help");

        Assert.Equal(ConsoleReply.Ok, reply.Exit);
        Assert.Contains("register a user at its home server only", reply.Output, StringComparison.Ordinal);
        Assert.Contains("<NAME>", reply.Output, StringComparison.Ordinal);
        Assert.True(reply.Output.Contains("--auth-server <AS>", StringComparison.Ordinal) && reply.Output.Contains("(REQUIRED)", StringComparison.Ordinal), reply.Output);
        Assert.Contains("--json", reply.Output, StringComparison.Ordinal);
        var users = await shared.System.RunAsync("user", "list");
        Assert.DoesNotContain("--help", users.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_on_a_verb_group_lists_its_verbs()
    {
        var reply = await shared.System.RunAsync("session", "-h");

        Assert.Equal(ConsoleReply.Ok, reply.Exit);
        foreach (var verb in new[] { "kill", "list", "show" })
        {
            Assert.Contains(verb, reply.Output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("session kill", "takes 1 argument", "`session kill --help`")]
    [InlineData("log peek --lines 0", "--lines takes a number", "`log peek --help`")]
    [InlineData("bogus verb", "unknown command", "`help` lists every command")]
    public async Task A_usage_error_names_the_problem_the_usage_and_where_help_is(string command, string problem, string hint)
    {
        var reply = await shared.System.RunAsync(command.Split(' '));

        Assert.Equal(ConsoleReply.Usage, reply.Exit);
        Assert.Contains(problem, reply.Error, StringComparison.Ordinal);
        Assert.Contains("usage: ", reply.Error, StringComparison.Ordinal);
        Assert.Contains(hint, reply.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Tab_after_a_dash_completes_the_verbs_options() =>
        Assert.Equal(["--level", "--lines"], ConsoleShell.Complete("log peek --l", []));

    [Fact]
    public void Every_verb_of_the_help_list_has_help_of_its_own()
    {
        foreach (var entry in Palette.Commands.Where(c => c.Words != "help"))
        {
            var help = ConsoleGrammar.Help([.. entry.Words.Split(' '), "--help"]);
            Assert.Contains(entry.Summary[..Math.Min(20, entry.Summary.Length)], help, StringComparison.Ordinal);
            Assert.Contains($"avpn> {entry.Words}", help, StringComparison.Ordinal);
        }
    }
}
