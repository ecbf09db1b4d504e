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
    public void Options_are_parsed_and_unknown_ones_named()
    {
        var (line, _) = CommandLine.Parse(["log", "peek", "--lines", "5", "--json"]);
        Assert.Equal("5", line!.Option("--lines"));
        Assert.True(line.Json);
        Assert.Equal("unknown option '--x'", CommandLine.Parse(["log", "--x"]).Problem);
    }
}
