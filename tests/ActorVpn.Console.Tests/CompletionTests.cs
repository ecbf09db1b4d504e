using ActorVpn.OperatorConsole.Client;
using ActorVpn.OperatorConsole.Commands;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

public sealed class CompletionTests
{
    private static readonly string[] Names = ["alice", "as1", "as2", "proxy1"];

    [Theory]
    [InlineData("", "actor,audit,auth,cluster,help,log,operator,proxy,route,session,user")]
    [InlineData("au", "audit,auth")]
    [InlineData("aut", "auth")]
    [InlineData("audit ", "query,tail")]
    [InlineData("session ", "kill,list,show")]
    [InlineData("auth show as", "as1,as2")]
    [InlineData("proxy show p", "proxy1")]
    public void Tab_completes_command_words_then_live_names(string line, string expected) =>
        Assert.Equal(expected.Split(','), ConsoleShell.Complete(line, Names));

    [Fact]
    public void Quoted_words_stay_together() =>
        Assert.Equal(["user", "add", "a b"], ConsoleShell.Split("user add \"a b\""));

    [Fact]
    public void Options_are_bound_to_typed_values_and_unknown_ones_named()
    {
        var (call, _) = ConsoleGrammar.Bind(["operator", "add", "carol", "--out", "carol.avpn", "--json"]);
        Assert.Equal(["carol"], call!.Arguments);
        Assert.Equal("carol.avpn", call.Value(OperatorCommands.CredentialOut));
        Assert.True(call.Json);
        Assert.Contains("unknown option '--x'", ConsoleGrammar.Bind(["log", "peek", "--x"]).Problem!.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auth list --lines 5", "'auth list' does not take --lines")]
    [InlineData("cluster tail --count 0", "--count takes a number from 1 to 1000000")]
    [InlineData("cluster tail --for 2d", "--for takes a duration such as 500ms, 30s, 5m or 1h, not '2d'")]
    [InlineData("cluster tail --for 0s", "--for takes a duration")]
    [InlineData("actor hierarchy /user extra", "too many arguments")]
    [InlineData("actor hierarchy --depth 65", "--depth takes a number from 0 to 64")]
    [InlineData("route trace alice", "'route trace' takes 2 arguments")]
    [InlineData("user add bob --auth-server", "--auth-server needs a value")]
    [InlineData("operator revoke", "'operator revoke' takes 1 argument")]
    [InlineData("session", "unknown command 'session'")]
    public void A_value_a_verb_cannot_take_is_a_usage_error_at_binding(string line, string problem)
    {
        var (call, refused) = ConsoleGrammar.Bind(line.Split(' '));
        Assert.Null(call);
        Assert.Equal(ConsoleReply.Usage, refused!.Exit);
        Assert.StartsWith(problem, refused.Error, StringComparison.Ordinal);
        Assert.Contains("\nusage: ", refused.Error, StringComparison.Ordinal);
    }

    /// <summary>A word that starts with @ is that word: the node never reads a file of its own as more words.</summary>
    [Fact]
    public void An_at_word_is_not_a_response_file()
    {
        var (call, _) = ConsoleGrammar.Bind(["auth", "show", "@/etc/hostname"]);
        Assert.Equal(["@/etc/hostname"], call!.Arguments);
    }

    [Fact]
    public void Every_usage_line_is_built_from_the_verbs_definition()
    {
        Assert.Equal("user add NAME --auth-server AS [--out P] [--json]", Palette.UsageOf("user add"));
        Assert.Equal("auth rotate AS start|switch|finish|rollback|status [--json]", Palette.UsageOf("auth rotate"));
        Assert.Equal("audit query [--user U] --since T [--until T] [--outcome ok|error] [--lines N] [--json]", Palette.UsageOf("audit query"));
        Assert.Equal("actor hierarchy [PATH] [--depth N] [--json]", Palette.UsageOf("actor hierarchy"));
    }
}
