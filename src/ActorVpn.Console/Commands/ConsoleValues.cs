using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// The kinds of value a console verb takes, each parsed and checked once, at binding, with the
/// message an operator sees when it is wrong. An option left out binds to null: the verb's own
/// default applies.
/// </summary>
public static class ConsoleValues
{
    /// <summary>A required word, e.g. a user or an auth server.</summary>
    public static Argument<string> Word(string name) => new(name) { Arity = ArgumentArity.ExactlyOne };

    /// <summary>A word that may be left out.</summary>
    public static Argument<string?> OptionalWord(string name) => new(name) { Arity = ArgumentArity.ZeroOrOne };

    /// <summary>A word from a fixed set: anything else is refused with <paramref name="problem"/> (given what was typed).</summary>
    public static Argument<string> Choice(string name, IReadOnlyList<string> choices, Func<string, string> problem)
    {
        var argument = new Argument<string>(name)
        {
            Arity = ArgumentArity.ExactlyOne,
            HelpName = string.Join('|', choices),
            CustomParser = result => Parse(result, v => choices.Contains(v, StringComparer.Ordinal) ? v : null, problem) ?? string.Empty,
        };
        argument.CompletionSources.Add([.. choices]);
        return argument;
    }

    /// <summary>An option taking free text (a name, a path).</summary>
    public static Option<string?> Text(string name, string helpName, string description, bool required = false) =>
        new(name) { HelpName = helpName, Description = description, Required = required };

    /// <summary>An option taking one of <paramref name="choices"/>: anything else is refused with <paramref name="problem"/>.</summary>
    public static Option<string?> Choice(string name, IReadOnlyList<string> choices, string description, Func<string, string> problem)
    {
        var option = new Option<string?>(name)
        {
            HelpName = string.Join('|', choices),
            Description = description,
            CustomParser = result => Parse(result, v => choices.Contains(v, StringComparer.Ordinal) ? v : null, problem),
        };
        option.CompletionSources.Add([.. choices]);
        return option;
    }

    /// <summary>An option whose value <paramref name="parse"/> reads (null: not such a value, refused with <paramref name="problem"/>).</summary>
    public static Option<T?> Parsed<T>(string name, string helpName, string description, Func<string, T?> parse, Func<string, string> problem, bool required = false)
        where T : struct => new(name)
        {
            HelpName = helpName,
            Description = description,
            Required = required,
            CustomParser = result => result.Tokens.Count == 0 ? null : parse(result.Tokens[0].Value) ?? Refused<T>(result, problem(result.Tokens[0].Value)),
        };

    /// <summary>An option taking a whole number from <paramref name="minimum"/> to <paramref name="maximum"/> (digits only).</summary>
    public static Option<int?> Number(string name, int minimum, int maximum, string description) =>
        Parsed<int>(name, "N", $"{description} ({minimum} to {maximum})",
            text => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= minimum && n <= maximum ? n : null,
            _ => $"{name} takes a number from {minimum} to {maximum}");

    /// <summary>An option taking a duration as an operator types it (<see cref="OperatorDuration"/>): more than zero and at most <paramref name="maximum"/>.</summary>
    public static Option<TimeSpan?> Duration(string name, TimeSpan maximum, string description) =>
        Parsed<TimeSpan>(name, "DURATION", description,
            text => OperatorDuration.Parse(text) is { } d && d > TimeSpan.Zero && d <= maximum ? d : null,
            text => $"{name} takes a duration such as 500ms, 30s, 5m or 1h, not '{text}'");

    private static string? Parse(ArgumentResult result, Func<string, string?> parse, Func<string, string> problem)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        var text = result.Tokens[0].Value;
        if (parse(text) is { } value)
        {
            return value;
        }

        result.AddError(problem(text));
        return null;
    }

    private static T? Refused<T>(ArgumentResult result, string problem)
        where T : struct
    {
        result.AddError(problem);
        return null;
    }
}
