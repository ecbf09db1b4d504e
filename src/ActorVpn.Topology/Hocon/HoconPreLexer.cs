namespace ActorVpn.Topology.Hocon;

/// <summary>
/// Passes over HOCON text that run before Akka's HOCON parser, for inputs that parser gets wrong:
/// it never returns on some unbalanced brackets and rejects a comma HOCON allows.
/// </summary>
public static class HoconPreLexer
{
    /// <summary>
    /// HOCON allows a comma after a nested object (<c>relays { server = proxy2 }, trusts = [as1]</c>, as
    /// in the contract's example); Akka's HOCON tokenizer rejects it. A comma and white space are the
    /// same separator in HOCON, so this turns such commas into spaces, outside strings and comments,
    /// keeping every character position (for error messages) where it was.
    /// </summary>
    public static string NormalizeObjectCommas(string text)
    {
        var chars = text.ToCharArray();
        bool afterObject = false;
        foreach (var piece in HoconTextScanner.Scan(text))
        {
            if (piece.Kind == HoconPieceKind.QuotedString)
            {
                afterObject = false;
                continue;
            }

            if (piece.Kind == HoconPieceKind.Comment)
            {
                continue;
            }

            char c = chars[piece.Start];
            if (c == '}')
            {
                afterObject = true;
            }
            else if (c == ',' && afterObject)
            {
                chars[piece.Start] = ' ';
                afterObject = false;
            }
            else if (!char.IsWhiteSpace(c))
            {
                afterObject = false;
            }
        }

        return new string(chars);
    }

    /// <summary>
    /// Akka's HOCON parser never returns on a list left open inside an object (<c>trusts = [as1 }</c>),
    /// and silently ignores a stray closing brace; so brackets are checked first, outside strings and
    /// comments (unquoted HOCON text cannot contain brackets).
    /// </summary>
    /// <returns>What is unbalanced and where, or null when every bracket is closed in order.</returns>
    public static string? UnbalancedBracket(string text)
    {
        var open = new Stack<(char Bracket, int Position)>();
        foreach (var piece in HoconTextScanner.Scan(text).Where(p => p.Kind == HoconPieceKind.Code))
        {
            int i = piece.Start;
            char c = text[i];
            if (c is '{' or '[')
            {
                open.Push((c, i));
            }
            else if (c is '}' or ']')
            {
                var (line, column) = HoconTextScanner.LineAndColumn(text, i);
                if (!open.TryPop(out var opened))
                {
                    return $"'{c}' at line {line}, column {column} closes nothing";
                }

                if (opened.Bracket != (c == '}' ? '{' : '['))
                {
                    var (openLine, openColumn) = HoconTextScanner.LineAndColumn(text, opened.Position);
                    return $"'{c}' at line {line}, column {column} does not close the '{opened.Bracket}' opened at line {openLine}, column {openColumn}";
                }
            }
        }

        if (open.TryPeek(out var unclosed))
        {
            var (line, column) = HoconTextScanner.LineAndColumn(text, unclosed.Position);
            return $"'{unclosed.Bracket}' opened at line {line}, column {column} is never closed";
        }

        return null;
    }
}
