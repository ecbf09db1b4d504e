namespace ActorVpn.OperatorConsole.Commands;

/// <summary>A console command's words split into positionals, <c>--name value</c> options and <c>--json</c>.</summary>
public sealed record CommandLine(IReadOnlyList<string> Positionals, IReadOnlyDictionary<string, string> Options, bool Json)
{
    /// <summary>Options that take a value; anything else starting with <c>--</c> (except <c>--json</c>) is unknown.</summary>
    public static readonly IReadOnlySet<string> ValueOptions = new HashSet<string>(StringComparer.Ordinal)
    {
        "--depth", "--level", "--lines", "--auth-server", "--out", "--count", "--for",
    };

    /// <returns>The parsed line, or a problem a person can act on.</returns>
    public static (CommandLine? Line, string? Problem) Parse(IReadOnlyList<string> words)
    {
        var positionals = new List<string>();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var json = false;
        for (var k = 0; k < words.Count; k++)
        {
            var word = words[k];
            if (word == "--json")
            {
                json = true;
            }
            else if (ValueOptions.Contains(word))
            {
                if (k + 1 >= words.Count)
                {
                    return (null, $"{word} needs a value");
                }

                options[word] = words[++k];
            }
            else if (word.StartsWith("--", StringComparison.Ordinal) && word.Length > 2)
            {
                return (null, $"unknown option '{word}'");
            }
            else
            {
                positionals.Add(word);
            }
        }

        return (new CommandLine(positionals, options, json), null);
    }

    public string? Option(string name) => Options.GetValueOrDefault(name);
}
