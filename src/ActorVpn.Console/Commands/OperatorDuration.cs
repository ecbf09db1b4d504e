using System.Globalization;
using System.Text.RegularExpressions;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// A length of time as an operator types it on the console: a number and a unit, <c>500ms</c>,
/// <c>30s</c>, <c>1.5m</c>, <c>5h</c>, <c>2d</c>. The one parser behind every option that takes a
/// duration or an age; each option sets its own bounds.
/// </summary>
public static partial class OperatorDuration
{
    /// <returns>The duration, or null when <paramref name="text"/> is not a number and a unit or is too long to hold.</returns>
    public static TimeSpan? Parse(string text)
    {
        if (Syntax().Match(text) is not { Success: true } match)
        {
            return null;
        }

        var amount = double.Parse(match.Groups["amount"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        var milliseconds = amount * match.Groups["unit"].Value switch
        {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => 86_400_000,
        };
        return milliseconds < TimeSpan.MaxValue.TotalMilliseconds / 2 ? TimeSpan.FromMilliseconds(milliseconds) : null;
    }

    [GeneratedRegex(@"^(?<amount>[0-9]{1,9}(\.[0-9]{1,9})?)(?<unit>ms|s|m|h|d)$", RegexOptions.CultureInvariant)]
    private static partial Regex Syntax();
}
