namespace ActorVpn.Topology.Hocon;

/// <summary>What a piece of HOCON text is, as far as bracket and separator checks care.</summary>
public enum HoconPieceKind
{
    /// <summary>One character of HOCON outside any string or comment.</summary>
    Code,

    /// <summary>A quoted string, <c>"..."</c> or <c>"""..."""</c>, with its quotes.</summary>
    QuotedString,

    /// <summary>A <c>#</c> or <c>//</c> comment up to and including its line break.</summary>
    Comment,
}

/// <summary>A run of text: <see cref="Length"/> characters from <see cref="Start"/>.</summary>
public readonly record struct HoconPiece(HoconPieceKind Kind, int Start, int Length);

/// <summary>
/// Walks HOCON text and tells strings and comments from the rest, so a check that looks at
/// brackets or commas never mistakes a <c>}</c> inside <c>"..."</c> or after <c>#</c> for structure.
/// Every pre-parse pass over a topology or HOCON layer reads the text through this one scanner.
/// </summary>
public static class HoconTextScanner
{
    /// <summary>The text in order: each character of code on its own, each string and comment whole.</summary>
    public static IEnumerable<HoconPiece> Scan(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            int start = i;
            if (c == '"')
            {
                if (i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"')
                {
                    int end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    i = end < 0 ? text.Length : end + 2;
                }
                else
                {
                    // An unterminated string ends at the line break, as HOCON's own tokenizer sees it.
                    for (i++; i < text.Length && text[i] != '"' && text[i] != '\n'; i++)
                    {
                        if (text[i] == '\\')
                        {
                            i++;
                        }
                    }
                }

                yield return new HoconPiece(HoconPieceKind.QuotedString, start, Math.Min(i, text.Length - 1) - start + 1);
            }
            else if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }

                yield return new HoconPiece(HoconPieceKind.Comment, start, Math.Min(i, text.Length - 1) - start + 1);
            }
            else
            {
                yield return new HoconPiece(HoconPieceKind.Code, start, 1);
            }
        }
    }

    /// <summary>The 1-based line and column of a character position, as an editor shows them.</summary>
    public static (int Line, int Column) LineAndColumn(string text, int position)
    {
        int line = 1, column = 1;
        for (int i = 0; i < Math.Min(position, text.Length); i++)
        {
            if (text[i] == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }

        return (line, column);
    }
}
