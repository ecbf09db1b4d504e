using System.CommandLine;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// One console verb, defined once: its words, what it does, and its arguments and options as typed
/// System.CommandLine symbols (with the parsers and validators of their values). The usage line, the
/// <c>help</c> list, <c>--help</c> on the verb, tab completion of its options and the binding of what
/// an operator typed (<see cref="ConsoleGrammar.Bind"/>) all come from this definition.
/// </summary>
/// <param name="Words">The verb's words, e.g. <c>log peek</c>.</param>
/// <param name="Summary">One line on what it does (the <c>help</c> list and <c>--help</c>).</param>
/// <param name="Parts">Its arguments (in order) and options (in the order of the usage line); every verb but <c>help</c> also takes <c>--json</c>.</param>
/// <param name="ArityProblem">What a wrong number of arguments is told, where the default (<c>'VERB' takes N arguments</c>) says too little.</param>
public sealed record ConsoleVerb(string Words, string Summary, IReadOnlyList<Symbol> Parts, string? ArityProblem = null)
{
    /// <summary>The flag every verb but <c>help</c> takes: print the reply as JSON.</summary>
    public static readonly Option<bool> Json = new("--json") { Description = "print the reply as JSON" };

    public ConsoleVerb(string words, string summary, params Symbol[] parts)
        : this(words, summary, (IReadOnlyList<Symbol>)parts)
    {
    }

    public bool TakesJson => Words != "help";

    public IEnumerable<Argument> Arguments => Parts.OfType<Argument>();

    public IEnumerable<Option> Options => TakesJson ? Parts.OfType<Option>().Append(Json) : Parts.OfType<Option>();

    /// <summary>The usage line: an UPPER-CASE word is an argument, <c>--name VALUE</c> an option, <c>[...]</c> what may be left out.</summary>
    public string Usage => string.Join(' ', Parts.Select(UsageOf).Prepend(Words).Concat(TakesJson ? ["[--json]"] : []));

    private static string UsageOf(Symbol part) => part switch
    {
        Argument { Arity.MinimumNumberOfValues: 0 } a => $"[{a.HelpName ?? a.Name}]",
        Argument a => a.HelpName ?? a.Name,
        Option { Arity.MaximumNumberOfValues: 0 } o => $"[{o.Name}]",
        Option { Required: true } o => $"{o.Name} {o.HelpName}",
        Option o => $"[{o.Name} {o.HelpName}]",
        _ => throw new ArgumentException($"a verb takes arguments and options, not {part.GetType().Name}", nameof(part)),
    };
}
