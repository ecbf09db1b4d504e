using ActorVpn.OperatorConsole.Client;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>The interactive prompt's key loop, driven by a script of key presses against a running node.</summary>
public sealed class ShellTests(SharedSystem shared) : IClassFixture<SharedSystem>
{
    [Fact]
    public async Task Tab_completes_commands_and_live_names_history_recalls_and_help_lists()
    {
        var keys = new Queue<ConsoleKeyInfo>();
        Keys.Type(keys, "aut");
        Keys.Press(keys, ConsoleKey.Tab);            // "aut" -> "auth " ("au" is also audit)
        Keys.Type(keys, "l");
        Keys.Press(keys, ConsoleKey.Tab);            // "auth l" -> "auth list "
        Keys.Press(keys, ConsoleKey.Enter);
        Keys.Type(keys, "auth show a");
        Keys.Press(keys, ConsoleKey.Tab);            // several live names: listed, the line stays
        Keys.Type(keys, "s4");
        Keys.Press(keys, ConsoleKey.Enter);          // auth show as4
        Keys.Press(keys, ConsoleKey.UpArrow);        // auth show as4
        Keys.Press(keys, ConsoleKey.UpArrow);        // auth list
        Keys.Press(keys, ConsoleKey.DownArrow);      // auth show as4 again
        Keys.Press(keys, ConsoleKey.Enter);
        Keys.Type(keys, "hepl");
        Keys.Press(keys, ConsoleKey.Backspace);
        Keys.Press(keys, ConsoleKey.Backspace);
        Keys.Type(keys, "lp");
        Keys.Press(keys, ConsoleKey.Enter);          // help
        Keys.Type(keys, "exit");
        Keys.Press(keys, ConsoleKey.Enter);

        var output = new StringWriter();
        var errors = new StringWriter();
        await using var client = await shared.System.ConnectAsync();
        var io = new ShellIo(() => keys.Dequeue(), () => throw new InvalidOperationException("plain lines are not used here"), output, errors, _ => new Nothing());
        Assert.Equal(0, await ConsoleShell.InteractiveAsync(client, shared.System.Console.Address, io));

        var text = output.ToString();
        Assert.Empty(keys);
        Assert.Contains(ConsoleShell.Prompt + "auth ", text, StringComparison.Ordinal);
        Assert.Contains("auth servers (Fig. 4", text, StringComparison.Ordinal);                 // auth list ran
        Assert.Contains("alice  as1  as2  as3  as4", text, StringComparison.Ordinal);          // the live names after "a"
        Assert.Equal(2, CountOf(text, "auth server as4\n"));                                    // typed once, recalled once
        Assert.Contains("commands (every one takes --json):", text, StringComparison.Ordinal);  // help, after Backspace fixed the typo
        Assert.Equal(string.Empty, errors.ToString());
    }

    [Fact]
    public async Task An_unknown_command_at_the_prompt_gets_a_usage_line_and_the_prompt_goes_on()
    {
        var keys = new Queue<ConsoleKeyInfo>();
        Keys.Type(keys, "frobnicate");
        Keys.Press(keys, ConsoleKey.Enter);
        Keys.Press(keys, ConsoleKey.D, ConsoleModifiers.Control); // end of input on an empty line
        var output = new StringWriter();
        var errors = new StringWriter();
        await using var client = await shared.System.ConnectAsync();
        var io = new ShellIo(() => keys.Dequeue(), () => null, output, errors, _ => new Nothing());

        Assert.Equal(0, await ConsoleShell.InteractiveAsync(client, shared.System.Console.Address, io));
        Assert.Contains("unknown command 'frobnicate'", errors.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, CountOf(output.ToString(), ConsoleShell.Prompt));
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private sealed class Nothing : IDisposable
    {
        public void Dispose()
        {
        }
    }
}

/// <summary>Key presses for a scripted <see cref="ShellIo"/>.</summary>
internal static class Keys
{
    public static void Type(Queue<ConsoleKeyInfo> keys, string text)
    {
        foreach (var c in text)
        {
            keys.Enqueue(new ConsoleKeyInfo(c, c == ' ' ? ConsoleKey.Spacebar : ConsoleKey.A, false, false, false));
        }
    }

    public static void Press(Queue<ConsoleKeyInfo> keys, ConsoleKey key, ConsoleModifiers modifiers = 0) =>
        keys.Enqueue(new ConsoleKeyInfo(key == ConsoleKey.Tab ? '\t' : key == ConsoleKey.Enter ? '\r' : key == ConsoleKey.Backspace ? '\b' : '\0', key,
            modifiers.HasFlag(ConsoleModifiers.Shift), modifiers.HasFlag(ConsoleModifiers.Alt), modifiers.HasFlag(ConsoleModifiers.Control)));
}
