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

    /// <summary>Runs one command and prints its reply (a stream's parts as they come); writes a <c>user add</c> profile to <c>--out</c> (default NAME.avpn), an <c>operator add</c> credential likewise (default NAME.admin.avpn).</summary>
    public static async Task<int> RunOneAsync(ConsoleClient client, IReadOnlyList<string> words, TextWriter stdout, TextWriter stderr, CancellationToken stop = default)
    {
        var reply = await client.StreamAsync(words, async part => await stdout.WriteAsync(part.Output), stop);
        stdout.Write(reply.Output);
        if (reply.Error is not null)
        {
            stderr.WriteLine($"avpn: {reply.Error}");
        }

        if (reply.ProfileJson is not null)
        {
            var profile = JsonSerializer.Deserialize<ClientProfile>(reply.ProfileJson, Json) ?? throw new InvalidDataException("an empty profile");
            var path = ConsoleGrammar.Bind(words).Call?.Value(UserCommands.ProfileOut) ?? $"{profile.User}.avpn";
            profile.Save(path);
            stderr.WriteLine($"profile written to {Path.GetFullPath(path)}");
        }

        if (reply.OperatorJson is not null)
        {
            var credential = OperatorCredential.FromFileText(reply.OperatorJson);
            var call = ConsoleGrammar.Bind(words).Call;
            var path = call?.Value(OperatorCommands.CredentialOut) ?? $"{call?.Arguments[0]}.admin.avpn";
            credential.Save(path);
            stderr.WriteLine($"operator credential written to {Path.GetFullPath(path)} (give it to the operator only: it holds a private key)");
        }

        return reply.Exit;
    }

    /// <summary>
    /// One-shot mode cannot be interrupted from a prompt: a stream must be bounded. Returns the
    /// problem (for a usage error) or null.
    /// </summary>
    public static string? OneShotProblem(IReadOnlyList<string> words) =>
        ConsoleGrammar.Bind(words).Call is { Words: "cluster tail" } tail && tail.Given("--count") is null && tail.Given("--for") is null
            ? "in one-shot mode `cluster tail` needs a bound: --count N and/or --for DURATION (or run it at the interactive prompt and stop it with Ctrl-C)\nusage: " + Palette.UsageOf("cluster tail")
            : null;

    public static Task<int> InteractiveAsync(ConsoleClient client, string endpoint) => InteractiveAsync(client, endpoint, ShellIo.System());

    /// <summary>The prompt loop: read a line (edited, or plain when input is redirected), run it, until <c>exit</c> or end of input.</summary>
    public static async Task<int> InteractiveAsync(ConsoleClient client, string endpoint, ShellIo io)
    {
        io.Out.WriteLine($"avpn console connected to {endpoint}; 'help' lists the commands, Tab completes, Up/Down recall, Ctrl-C stops a stream, 'exit' leaves");
        var history = new List<string>();
        while (true)
        {
            string? line;
            if (io.ReadKey is { } readKey)
            {
                line = await ReadEditedAsync(readKey, io.Out, history, async () => Split((await client.RunAsync(["names"])).Output.Replace('\n', ' ')));
            }
            else
            {
                io.Out.Write(Prompt);
                line = io.ReadLine();
            }

            if (line is null || line.Trim() is "exit" or "quit")
            {
                return 0;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            history.Add(line);
            using var interrupted = new CancellationTokenSource();
            using (io.OnInterrupt(() => interrupted.Cancel()))
            {
                await RunOneAsync(client, Split(line), io.Out, io.Error, interrupted.Token);
            }
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

    /// <summary>Completions of the last word of <paramref name="line"/>: command words first, then live names; a word starting with '-' completes to the verb's options.</summary>
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
        var verb = before.TakeWhile(w => !w.StartsWith('-')).Take(2).ToList();
        var candidates = partial.StartsWith('-') ? ConsoleGrammar.OptionsOf(verb) : before.Count >= 2 ? liveNames : fromPalette;
        return candidates.Where(c => c.StartsWith(partial, StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    public const string Prompt = "avpn> ";

    /// <summary>
    /// The line editor: printable keys, Backspace, Up/Down through <paramref name="history"/>, Tab
    /// (completes one candidate, lists several), Enter; Ctrl-D on an empty line ends the input (null).
    /// </summary>
    public static async Task<string?> ReadEditedAsync(Func<ConsoleKeyInfo> readKey, TextWriter output, IReadOnlyList<string> history, Func<Task<IReadOnlyList<string>>> liveNames)
    {
        output.Write(Prompt);
        var buffer = new System.Text.StringBuilder();
        var at = history.Count;
        while (true)
        {
            var key = readKey();
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    output.WriteLine();
                    return buffer.ToString();
                case ConsoleKey.Backspace when buffer.Length > 0:
                    buffer.Length--;
                    output.Write("\b \b");
                    break;
                case ConsoleKey.UpArrow when at > 0:
                case ConsoleKey.DownArrow when at < history.Count:
                    at += key.Key == ConsoleKey.UpArrow ? -1 : 1;
                    Replace(output, buffer, at < history.Count ? history[at] : string.Empty);
                    break;
                case ConsoleKey.Tab:
                    var options = Complete(buffer.ToString(), await liveNames());
                    if (options.Count == 1)
                    {
                        var text = buffer.ToString();
                        var cut = text.Length == 0 || char.IsWhiteSpace(text[^1]) ? text.Length : text.LastIndexOf(' ') + 1;
                        Replace(output, buffer, text[..cut] + options[0] + " ");
                    }
                    else if (options.Count > 1)
                    {
                        output.WriteLine();
                        output.WriteLine(string.Join("  ", options));
                        output.Write(Prompt + buffer);
                    }

                    break;
                case ConsoleKey.D when key.Modifiers.HasFlag(ConsoleModifiers.Control) && buffer.Length == 0:
                    output.WriteLine();
                    return null;
                default:
                    if (!char.IsControl(key.KeyChar))
                    {
                        buffer.Append(key.KeyChar);
                        output.Write(key.KeyChar);
                    }

                    break;
            }
        }
    }

    private static void Replace(TextWriter output, System.Text.StringBuilder buffer, string text)
    {
        output.Write("\r" + new string(' ', buffer.Length + Prompt.Length) + "\r" + Prompt + text);
        buffer.Clear().Append(text);
    }
}

/// <summary>
/// Where the interactive shell reads and writes: the terminal (<see cref="System()"/>), or a script
/// in tests. <see cref="ReadKey"/> null means plain lines (redirected input); <see cref="OnInterrupt"/>
/// registers what Ctrl-C does while a command runs (stop a stream) and returns its unregistration.
/// </summary>
public sealed record ShellIo(Func<ConsoleKeyInfo>? ReadKey, Func<string?> ReadLine, TextWriter Out, TextWriter Error, Func<Action, IDisposable> OnInterrupt)
{
    public static ShellIo System() => new(
        Console.IsInputRedirected ? null : () => Console.ReadKey(intercept: true),
        Console.In.ReadLine,
        Console.Out,
        Console.Error,
        interrupt =>
        {
            ConsoleCancelEventHandler handler = (_, e) =>
            {
                e.Cancel = true; // Ctrl-C stops the running command's stream, not the shell
                interrupt();
            };
            Console.CancelKeyPress += handler;
            return new Unregister(() => Console.CancelKeyPress -= handler);
        });

    private sealed class Unregister(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
