using System.CommandLine;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>A console verb as an operator called it: its arguments and options bound to typed values by <see cref="ConsoleGrammar.Bind"/>.</summary>
public sealed class VerbCall(ConsoleVerb verb, ParseResult parse, IReadOnlyList<string> words)
{
    /// <summary>What the operator typed, as one line (for the audit trail).</summary>
    public string Line => string.Join(' ', words);

    public ConsoleVerb Verb => verb;

    /// <summary>The verb's words, e.g. <c>log peek</c>.</summary>
    public string Words => verb.Words;

    /// <summary>Was the reply asked for as JSON?</summary>
    public bool Json => verb.TakesJson && parse.GetValue(ConsoleVerb.Json);

    /// <summary>The arguments as typed, in the verb's order.</summary>
    public IReadOnlyList<string> Arguments => parse.CommandResult.Tokens.Select(t => t.Value).ToList();

    public T Value<T>(Argument<T> argument) => parse.GetValue(argument)!;

    /// <summary>The option's value, or null (the default of its type) where it was left out.</summary>
    public T? Value<T>(Option<T> option) => parse.GetValue(option);

    /// <summary>The value typed for the option named <paramref name="name"/>, if the verb takes it and it was given.</summary>
    public string? Given(string name) => verb.Options.Any(o => o.Name == name) ? parse.GetResult(name)?.Tokens.FirstOrDefault()?.Value : null;
}
