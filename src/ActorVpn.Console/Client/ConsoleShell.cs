using System.Text.Json;
using ActorVpn.Client;
using ActorVpn.OperatorConsole.Commands;

namespace ActorVpn.OperatorConsole.Client;

/// <summary>
/// <c>avpn console</c>: one command (one-shot) or an interactive prompt with history (Up/Down),
/// <c>help</c> and Tab completion of commands and of live names (asked of the node with the hidden
/// <c>names</c> command). Line editing is a small <see cref="System.Console.ReadKey(bool)"/> loop
/// (printable keys, Backspace, Up/Down, Tab, Enter); with redirected input it reads plain lines.
/// </summary>
public static class ConsoleShell
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Runs one command and prints its reply; writes a <c>user add</c> profile to <c>--out</c> (default NAME.avpn).</summary>
    public static async Task<int> RunOneAsync(ConsoleClient client, IReadOnlyList<string> words, TextWriter stdout, TextWriter stderr)
    {
        var reply = await client.RunAsync(words);
        stdout.Write(reply.Output);
        if (reply.Error is not null)
        {
            stderr.WriteLine($"avpn: {reply.Error}");
        }

        if (reply.ProfileJson is not null)
        {
            var profile = JsonSerializer.Deserialize<ClientProfile>(reply.ProfileJson, Json) ?? throw new InvalidDataException("an empty profile");
            var at = words.ToList().IndexOf("--out");
            var path = at >= 0 && at + 1 < words.Count ? words[at + 1] : $"{profile.User}.avpn";
            profile.Save(path);
            stderr.WriteLine($"profile written to {Path.GetFullPath(path)}");
        }

        return reply.Exit;
    }

    public static async Task<int> InteractiveAsync(ConsoleClient client, string endpoint)
    {
        Console.Out.WriteLine($"avpn console connected to {endpoint}; 'help' lists the commands, Tab completes, 'exit' leaves");
        var history = new List<string>();
        while (true)
        {
            var line = Console.IsInputRedirected ? ReadPlain() : await ReadEditedAsync(client, history);
            if (line is null || line.Trim() is "exit" or "quit")
            {
                return 0;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            history.Add(line);
            await RunOneAsync(client, Split(line), Console.Out, Console.Error);
        }
    }

    /// <summary>Splits a typed line into words; double quotes group words with spaces.</summary>
    public static IReadOnlyList<string> Split(string line)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (char.IsWhiteSpace(c) && !quoted)
            {
                if (current.Length > 0)
                {
                    words.Add(current.ToString());
                    current.Clear();
                }
            }
            else
            {
                current.Append(c);
            }
        }

        if (current.Length > 0)
        {
            words.Add(current.ToString());
        }

        return words;
    }

    /// <summary>Completions of the last word of <paramref name="line"/>: command words first, then live names.</summary>
    public static IReadOnlyList<string> Complete(string line, IEnumerable<string> liveNames)
    {
        var words = Split(line).ToList();
        var partial = line.Length == 0 || char.IsWhiteSpace(line[^1]) ? string.Empty : words[^1];
        var before = partial.Length == 0 ? words : words.Take(words.Count - 1).ToList();
        var prefix = string.Join(' ', before);
        var fromPalette = Palette.Commands
            .Select(c => c.Words.Split(' '))
            .Where(w => w.Length > before.Count && string.Join(' ', w.Take(before.Count)) == prefix)
            .Select(w => w[before.Count]);
        var candidates = before.Count >= 2 ? liveNames : fromPalette;
        return candidates.Where(c => c.StartsWith(partial, StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    private static string? ReadPlain()
    {
        Console.Out.Write("avpn> ");
        return Console.In.ReadLine();
    }

    private static async Task<string?> ReadEditedAsync(ConsoleClient client, List<string> history)
    {
        Console.Out.Write("avpn> ");
        var buffer = new System.Text.StringBuilder();
        var at = history.Count;
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    Console.Out.WriteLine();
                    return buffer.ToString();
                case ConsoleKey.Backspace when buffer.Length > 0:
                    buffer.Length--;
                    Console.Out.Write("\b \b");
                    break;
                case ConsoleKey.UpArrow when at > 0:
                case ConsoleKey.DownArrow when at < history.Count:
                    at += key.Key == ConsoleKey.UpArrow ? -1 : 1;
                    Replace(buffer, at < history.Count ? history[at] : string.Empty);
                    break;
                case ConsoleKey.Tab:
                    var names = Split((await client.RunAsync(["names"])).Output.Replace('\n', ' '));
                    var options = Complete(buffer.ToString(), names);
                    if (options.Count == 1)
                    {
                        var text = buffer.ToString();
                        var cut = text.Length == 0 || char.IsWhiteSpace(text[^1]) ? text.Length : text.LastIndexOf(' ') + 1;
                        Replace(buffer, text[..cut] + options[0] + " ");
                    }
                    else if (options.Count > 1)
                    {
                        Console.Out.WriteLine();
                        Console.Out.WriteLine(string.Join("  ", options));
                        Console.Out.Write("avpn> " + buffer);
                    }

                    break;
                case ConsoleKey.D when key.Modifiers.HasFlag(ConsoleModifiers.Control) && buffer.Length == 0:
                    Console.Out.WriteLine();
                    return null;
                default:
                    if (!char.IsControl(key.KeyChar))
                    {
                        buffer.Append(key.KeyChar);
                        Console.Out.Write(key.KeyChar);
                    }

                    break;
            }
        }
    }

    private static void Replace(System.Text.StringBuilder buffer, string text)
    {
        Console.Out.Write("\r" + new string(' ', buffer.Length + 6) + "\ravpn> " + text);
        buffer.Clear().Append(text);
    }
}
