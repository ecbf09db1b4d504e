using ActorVpn.Topology.Hocon;
using Xunit;

namespace ActorVpn.Topology.Tests;

public sealed class HoconTextScannerTests
{
    [Fact]
    public void Strings_and_comments_come_whole_and_everything_else_one_character_at_a_time()
    {
        const string text = "a = \"}\" # ]\nb";
        var pieces = HoconTextScanner.Scan(text).Select(p => (p.Kind, text.Substring(p.Start, p.Length))).ToList();
        Assert.Equal(
            [
                (HoconPieceKind.Code, "a"), (HoconPieceKind.Code, " "), (HoconPieceKind.Code, "="), (HoconPieceKind.Code, " "),
                (HoconPieceKind.QuotedString, "\"}\""), (HoconPieceKind.Code, " "),
                (HoconPieceKind.Comment, "# ]\n"), (HoconPieceKind.Code, "b"),
            ],
            pieces);
    }

    [Fact]
    public void A_triple_quoted_string_may_hold_quotes_and_line_breaks()
    {
        const string text = "x = \"\"\"say \"}\"\n]\"\"\" }";
        var strings = HoconTextScanner.Scan(text).Where(p => p.Kind == HoconPieceKind.QuotedString).ToList();
        var only = Assert.Single(strings);
        Assert.Equal("\"\"\"say \"}\"\n]\"\"\"", text.Substring(only.Start, only.Length));
    }

    [Fact]
    public void An_unterminated_string_ends_at_its_line_so_the_next_line_is_code_again()
    {
        const string text = "a = \"open\nb }";
        var code = string.Concat(HoconTextScanner.Scan(text).Where(p => p.Kind == HoconPieceKind.Code).Select(p => text[p.Start]));
        Assert.Equal("a = b }", code);
    }

    [Fact]
    public void An_escaped_quote_does_not_end_a_string()
    {
        const string text = "a = \"x\\\"}\" ]";
        var code = string.Concat(HoconTextScanner.Scan(text).Where(p => p.Kind == HoconPieceKind.Code).Select(p => text[p.Start]));
        Assert.Equal("a =  ]", code);
    }

    [Fact]
    public void Line_and_column_count_from_one_and_restart_after_a_line_break()
    {
        Assert.Equal((1, 1), HoconTextScanner.LineAndColumn("ab\ncd", 0));
        Assert.Equal((2, 2), HoconTextScanner.LineAndColumn("ab\ncd", 4));
    }

    [Fact]
    public void A_bracket_closing_the_wrong_kind_names_both_places()
    {
        Assert.Equal(
            "']' at line 2, column 3 does not close the '{' opened at line 1, column 5",
            HoconPreLexer.UnbalancedBracket("a = {\n  ]"));
    }
}
