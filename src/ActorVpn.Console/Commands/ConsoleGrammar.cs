using System.CommandLine;
using System.CommandLine.Help;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// The console's verbs as System.CommandLine commands, built from the one definition of each verb
/// (its <see cref="Palette.Entry"/>: words, usage line, summary), so <c>--help</c> on a verb, the
/// options a verb takes (for completion and for usage errors) and the <c>help</c> list never differ.
/// In a usage line an UPPER-CASE word or <c>a|b</c> is an argument, <c>--name VALUE</c> an option
/// taking a value, <c>--name</c> alone a flag, and <c>[...]</c> marks what may be left out.
/// </summary>
public static class ConsoleGrammar
{
    private static readonly Lazy<Command> Root = new(() => Build(Palette.Commands));

    /// <summary>Does <paramref name="words"/> ask for help on a verb (<c>--help</c>, <c>-h</c> or <c>-?</c> anywhere)?</summary>
    public static bool AsksForHelp(IReadOnlyList<string> words) => words.Any(w => w is "--help" or "-h" or "-?");

    /// <summary>The help of the verb named in <paramref name="words"/> (the command list for no verb): usage, arguments and options.</summary>
    public static string Help(IReadOnlyList<string> words)
    {
        var output = new StringWriter { NewLine = "\n" };
        Root.Value.Parse(words.ToArray()).Invoke(new InvocationConfiguration { Output = output, Error = output });
        return output.ToString();
    }

    /// <summary>The options the verb <paramref name="verbWords"/> (e.g. <c>log peek</c>) takes, or none for a word that is no verb.</summary>
    public static IReadOnlyList<string> OptionsOf(IReadOnlyList<string> verbWords) =>
        VerbOf(verbWords) is { } verb ? verb.Options.Where(o => o is not HelpOption).Select(o => o.Name).Order(StringComparer.Ordinal).ToList() : [];

    /// <summary>
    /// A usage error with a reminder of where the verb's every argument and option is explained: the
    /// verb is the longest one <paramref name="words"/> start with (the command list for none).
    /// </summary>
    public static ConsoleReply WithHelpHint(ConsoleReply reply, IReadOnlyList<string> words)
    {
        if (reply.Exit != ConsoleReply.Usage)
        {
            return reply;
        }

        var typed = string.Join(' ', words.TakeWhile(w => !w.StartsWith('-')));
        var verb = Palette.Commands.Select(c => c.Words).Where(w => typed == w || typed.StartsWith(w + " ", StringComparison.Ordinal)).MaxBy(w => w.Length);
        var hint = verb is null ? "`help` lists every command" : $"`{verb} --help` explains every argument and option";
        return reply with { Error = $"{reply.Error}\n({hint})" };
    }

    private static Command? VerbOf(IReadOnlyList<string> words)
    {
        Command current = Root.Value;
        foreach (var word in words)
        {
            if (current.Subcommands.FirstOrDefault(c => c.Name == word) is not { } next)
            {
                return null;
            }

            current = next;
        }

        return current.Subcommands.Count == 0 && current != Root.Value ? current : null;
    }

    private static Command Build(IEnumerable<Palette.Entry> entries)
    {
        var root = new Command("avpn>", "the operator console of a running node; `help` lists every command");
        // Help goes back over the console connection, not to a terminal whose width is known here.
        root.Options.Add(new HelpOption { Action = new HelpAction { MaxWidth = 120 } });
        foreach (var entry in entries)
        {
            var words = entry.Words.Split(' ');
            var parent = root;
            foreach (var word in words[..^1])
            {
                parent = parent.Subcommands.FirstOrDefault(c => c.Name == word) ?? Added(parent, new Command(word, $"the {word} commands"));
            }

            var verb = Added(parent, new Command(words[^1], entry.Summary));
            foreach (var part in Parts(entry.Usage[entry.Words.Length..]))
            {
                AddPart(verb, part);
            }
        }

        return root;
    }

    private static Command Added(Command parent, Command child)
    {
        parent.Subcommands.Add(child);
        return child;
    }

    /// <summary>The usage line's pieces: a bracketed group whole (<c>[--lines N]</c>), an option with its value (<c>--auth-server AS</c>), else one word.</summary>
    private static IEnumerable<(IReadOnlyList<string> Words, bool Optional)> Parts(string usage)
    {
        var tokens = usage.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var group = new List<string>();
        for (var i = 0; i < tokens.Length; i++)
        {
            var word = tokens[i];
            if (group.Count > 0 || word.StartsWith('['))
            {
                group.Add(word.TrimStart('['));
                if (word.EndsWith(']'))
                {
                    group[^1] = group[^1].TrimEnd(']');
                    yield return (group.ToList(), true);
                    group.Clear();
                }
            }
            else if (word.StartsWith("--", StringComparison.Ordinal) && i + 1 < tokens.Length && !tokens[i + 1].StartsWith('[') && !tokens[i + 1].StartsWith('-'))
            {
                yield return ([word, tokens[++i]], false);
            }
            else
            {
                yield return ([word], false);
            }
        }
    }

    private static void AddPart(Command verb, (IReadOnlyList<string> Words, bool Optional) part)
    {
        var (words, optional) = part;
        if (words[0].StartsWith("--", StringComparison.Ordinal))
        {
            if (verb.Options.Any(o => o.Name == words[0]))
            {
                return;
            }

            if (words.Count == 1)
            {
                verb.Options.Add(new Option<bool>(words[0]) { Description = words[0] == "--json" ? "print the reply as JSON" : null });
                return;
            }

            var option = new Option<string>(words[0]) { HelpName = words[1], Required = !optional };
            if (words[1].Contains('|'))
            {
                option.AcceptOnlyFromAmong(words[1].Split('|'));
            }

            verb.Options.Add(option);
            return;
        }

        if (words.Count == 1 && !string.IsNullOrEmpty(words[0]))
        {
            var choices = words[0].Contains('|');
            var argument = new Argument<string>(choices ? "CHOICE" : words[0]) { Arity = optional ? ArgumentArity.ZeroOrOne : ArgumentArity.ExactlyOne };
            if (choices)
            {
                argument.HelpName = words[0];
                argument.AcceptOnlyFromAmong(words[0].Split('|'));
            }

            verb.Arguments.Add(argument);
        }
    }
}
