namespace ActorVpn.OperatorConsole.Commands;

/// <summary>Every console verb (the <c>help</c> list, in its order), each defined by the command family that runs it.</summary>
public static class Palette
{
    public static readonly ConsoleVerb HelpVerb = new("help", "this list");

    public static readonly IReadOnlyList<ConsoleVerb> Commands =
    [
        HelpVerb,
        .. ClusterCommands.Verbs,
        .. InspectionCommands.Verbs,
        .. AuthServerCommands.Verbs,
        RotationCommands.Verb,
        .. ProxyCommands.Verbs,
        .. SessionCommands.Verbs,
        .. UserCommands.Verbs,
        .. AuditCommands.Verbs,
        .. OperatorCommands.Verbs,
    ];

    public static ConsoleVerb? Find(string words) => Commands.FirstOrDefault(c => c.Words == words);

    /// <summary>The usage of the verb <paramref name="words"/>, or of every verb of the group <paramref name="words"/> names.</summary>
    public static string UsageOf(string words) =>
        Find(words)?.Usage ?? string.Join(" | ", Commands.Where(c => c.Words.StartsWith(words + " ", StringComparison.Ordinal)).Select(c => c.Usage));

    public static string Help()
    {
        var width = Commands.Max(c => c.Usage.Length) + 2;
        return "commands (every one takes --json):\n" + string.Concat(Commands.Select(c => $"  {c.Usage.PadRight(width)}{c.Summary}\n"));
    }
}
