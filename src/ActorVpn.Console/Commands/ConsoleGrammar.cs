using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// The console's verbs as System.CommandLine commands, built from the one definition of each verb
/// (<see cref="ConsoleVerb"/>): what an operator types is bound to the verb's typed arguments and
/// options here (<see cref="Bind"/>), and <c>--help</c> on a verb, the options it completes and the
/// <c>help</c> list come from the same definition. A usage error names the problem in the console's
/// own words (not System.CommandLine's), with the verb's usage line.
/// </summary>
public static class ConsoleGrammar
{
    /// <summary>No <c>@file</c> expansion: a word an operator types is that word, never a file of the node read as more words.</summary>
    private static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null };

    private static readonly Lazy<(Command Root, IReadOnlyDictionary<Command, ConsoleVerb> Verbs)> Grammar = new(() => Build(Palette.Commands));

    /// <summary>Does <paramref name="words"/> ask for help on a verb (<c>--help</c>, <c>-h</c> or <c>-?</c> anywhere)?</summary>
    public static bool AsksForHelp(IReadOnlyList<string> words) => words.Any(w => w is "--help" or "-h" or "-?");

    /// <summary>The help of the verb named in <paramref name="words"/> (the command list for no verb): usage, arguments and options.</summary>
    public static string Help(IReadOnlyList<string> words)
    {
        var output = new StringWriter { NewLine = "\n" };
        Grammar.Value.Root.Parse(words.ToArray(), Parsing).Invoke(new InvocationConfiguration { Output = output, Error = output });
        return output.ToString();
    }

    /// <summary>The options the verb <paramref name="verbWords"/> (e.g. <c>log peek</c>) takes, or none for a word that is no verb.</summary>
    public static IReadOnlyList<string> OptionsOf(IReadOnlyList<string> verbWords) =>
        Palette.Find(string.Join(' ', verbWords)) is { } verb ? verb.Options.Select(o => o.Name).Order(StringComparer.Ordinal).ToList() : [];

    /// <summary>
    /// Binds <paramref name="words"/> to the verb they name: its arguments and options parsed and
    /// checked (<see cref="ConsoleValues"/>), or the usage error to answer instead.
    /// </summary>
    public static (VerbCall? Call, ConsoleReply? Problem) Bind(IReadOnlyList<string> words)
    {
        var (root, verbs) = Grammar.Value;
        var parse = root.Parse(words.ToArray(), Parsing);
        if (!verbs.TryGetValue(parse.CommandResult.Command, out var verb))
        {
            var typed = words.TakeWhile(w => !w.StartsWith('-')).ToList();
            var usage = Palette.UsageOf(typed.FirstOrDefault() ?? string.Empty);
            return (null, ConsoleReply.UsageError($"unknown command '{string.Join(' ', typed)}'", usage.Length > 0 ? usage : "help"));
        }

        return ProblemOf(verb, parse) is { } problem ? (null, ConsoleReply.UsageError(problem, verb.Usage)) : (new VerbCall(verb, parse, words), null);
    }

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

    /// <summary>
    /// What is wrong with the call, in the order an operator fixes it: a word that is no option of the
    /// verb, an option without its value, the number of arguments, a required option left out, a
    /// value its option refuses.
    /// </summary>
    private static string? ProblemOf(ConsoleVerb verb, ParseResult parse)
    {
        var command = parse.CommandResult;
        var loose = parse.UnmatchedTokens.Concat(command.Tokens.Select(t => t.Value)).ToList();
        if (loose.FirstOrDefault(w => w.StartsWith("--", StringComparison.Ordinal) && w.Length > 2) is { } stray)
        {
            return Palette.Commands.Any(v => v.Options.Any(o => o.Name == stray)) ? $"'{verb.Words}' does not take {stray}" : $"unknown option '{stray}'";
        }

        if (command.Children.OfType<OptionResult>().FirstOrDefault(o => !o.Implicit && o.Tokens.Count == 0 && o.Option.Arity.MinimumNumberOfValues > 0) is { } empty)
        {
            return $"{empty.Option.Name} needs a value";
        }

        var (fewest, most) = (verb.Arguments.Sum(a => a.Arity.MinimumNumberOfValues), verb.Arguments.Sum(a => a.Arity.MaximumNumberOfValues));
        if (loose.Count < fewest || loose.Count > most)
        {
            return verb.ArityProblem ?? (fewest == most ? $"'{verb.Words}' takes {(most == 0 ? "no" : most)} argument{(most == 1 ? string.Empty : "s")}" : "too many arguments");
        }

        if (verb.Options.FirstOrDefault(o => o.Required && parse.GetResult(o) is not { Implicit: false }) is { } missing)
        {
            return $"{missing.Name} is required";
        }

        if (parse.Errors.FirstOrDefault(e => e.SymbolResult is not CommandResult) is { } refused)
        {
            return refused.Message;
        }

        return parse.Errors.FirstOrDefault()?.Message;
    }

    private static (Command, IReadOnlyDictionary<Command, ConsoleVerb>) Build(IEnumerable<ConsoleVerb> definitions)
    {
        var root = new Command("avpn>", "the operator console of a running node; `help` lists every command");
        // Help goes back over the console connection, not to a terminal whose width is known here.
        root.Options.Add(new HelpOption { Action = new HelpAction { MaxWidth = 120 } });
        var verbs = new Dictionary<Command, ConsoleVerb>();
        foreach (var definition in definitions)
        {
            var words = definition.Words.Split(' ');
            var parent = root;
            foreach (var word in words[..^1])
            {
                parent = parent.Subcommands.FirstOrDefault(c => c.Name == word) ?? Added(parent, new Command(word, $"the {word} commands"));
            }

            var verb = Added(parent, new Command(words[^1], definition.Summary));
            foreach (var argument in definition.Arguments)
            {
                verb.Arguments.Add(argument);
            }

            foreach (var option in definition.Options)
            {
                verb.Options.Add(option);
            }

            verbs[verb] = definition;
        }

        return (root, verbs);
    }

    private static Command Added(Command parent, Command child)
    {
        parent.Subcommands.Add(child);
        return child;
    }
}
