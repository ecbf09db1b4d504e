using Xunit;

namespace ActorVpn.Topology.Tests;

public sealed class NormalizeObjectCommasTests
{
    [Fact]
    public void Comma_after_a_nested_object_becomes_a_space_at_the_same_position()
    {
        const string text = "a { b { c = 1 }, d = 2 }";
        var normalized = TopologyLoader.NormalizeObjectCommas(text);
        Assert.Equal("a { b { c = 1 }  d = 2 }", normalized);
        Assert.Equal(text.Length, normalized.Length);
    }

    [Fact]
    public void Comma_after_an_object_followed_by_spaces_and_a_newline_is_removed()
    {
        Assert.Equal("x { y {}  \n z = 1 }", TopologyLoader.NormalizeObjectCommas("x { y {} ,\n z = 1 }"));
    }

    [Fact]
    public void Commas_between_plain_values_and_in_lists_are_kept()
    {
        const string text = "a { b = 1, c = [x, y], d = 2 }";
        Assert.Equal(text, TopologyLoader.NormalizeObjectCommas(text));
    }

    [Theory]
    [InlineData("s = \"}, not an object\"")]
    [InlineData("s = \"a \\\" }, b\"")]
    [InlineData("s = \"\"\"multi } , line\n}, still the string\"\"\"")]
    [InlineData("# a comment }, with a comma\nk = v")]
    [InlineData("// a comment }, with a comma\nk = v")]
    public void Commas_inside_strings_and_comments_are_kept(string text)
    {
        Assert.Equal(text, TopologyLoader.NormalizeObjectCommas(text));
    }

    [Fact]
    public void A_normalized_contract_line_is_valid_hocon_with_the_same_values()
    {
        var text = "as2 { parent = as4, relays { server = proxy2 }, trusts = [as1] }, note = \"x }, y\"";
        var config = Akka.Configuration.ConfigurationFactory.ParseString(TopologyLoader.NormalizeObjectCommas(text));
        Assert.Equal("as4", config.GetString("as2.parent"));
        Assert.Equal("proxy2", config.GetString("as2.relays.server"));
        Assert.Equal(["as1"], config.GetStringList("as2.trusts"));
        Assert.Equal("x }, y", config.GetString("note"));
    }
}
