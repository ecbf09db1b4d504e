using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace ActorVpn.Testing;

/// <summary>
/// The built <c>avpn</c> running as a child process (<see cref="AvpnBinary"/>), its output read line by
/// line: what the process tests start a node or a client with, and stop the way a supervisor does
/// (SIGTERM), a crash does (SIGKILL) or a long pause does (SIGSTOP / SIGCONT).
/// </summary>
public sealed class AvpnProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _awaited = new(StringComparer.Ordinal);

    private AvpnProcess(Process process) => _process = process;

    public string Stdout => string.Join('\n', _stdout);

    public string Stderr => string.Join('\n', _stderr);

    /// <summary>Everything printed so far, stdout and stderr interleaved as read.</summary>
    public string Output => string.Join('\n', _output);

    public int Id => _process.Id;

    /// <summary>
    /// A short excerpt of a node's output for a failure report: its last cluster membership and remoting lines, then its
    /// last lines. A failure's report is read from the end of a CI log, where every node must still show.
    /// </summary>
    public string Excerpt(int membershipLines = 10, int lastLines = 6)
    {
        var lines = _output.ToArray();
        var membership = lines.Where(line => MembershipWords.Any(word => line.Contains(word, StringComparison.Ordinal))).TakeLast(membershipLines);
        return string.Join('\n', membership.Append("...").Concat(lines.TakeLast(lastLines)));
    }

    private static readonly string[] MembershipWords =
        ["JOINING", "Welcome", "incarnation", "is Up", "to [Up]", "nreachable", "uarantin", "ssociat", "gated", "Couldn't join", "avpn:", "ERROR"];

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>avpn</c> with <paramref name="args"/> and exactly the <c>AVPN_*</c> variables of <paramref name="environment"/>.</summary>
    public static AvpnProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = AvpnBinary.StartInfo(args);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return Start(start);
    }

    /// <summary>Starts the process <paramref name="start"/> describes (e.g. <c>avpn</c> wrapped in <c>ip netns exec</c>), reading its output.</summary>
    public static AvpnProcess Start(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var process = new Process { StartInfo = start };
        var avpn = new AvpnProcess(process);
        process.OutputDataReceived += (_, line) => avpn.OnStdout(line.Data);
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is not null)
            {
                avpn._stderr.Enqueue(line.Data);
                avpn._output.Enqueue(line.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return avpn;
    }

    public static AvpnProcess Start(params string[] args) => Start(args, null);

    /// <summary>Runs the built <c>avpn</c> to its end as a user would, killing it if it outlives <paramref name="timeout"/>.</summary>
    public static async Task<AvpnRun> RunAsync(IEnumerable<string> args, TimeSpan timeout, params (string Name, string Value)[] environment)
    {
        var start = AvpnBinary.StartInfo(args);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new AvpnRun(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Completes once the process prints exactly <paramref name="line"/>; fails if it exits first or the deadline passes.</summary>
    public async Task AwaitLineAsync(string line, TimeSpan within)
    {
        var seen = _awaited.GetOrAdd(line, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (_stdout.Contains(line))
        {
            seen.TrySetResult();
        }

        var exited = _process.WaitForExitAsync();
        try
        {
            if (await Task.WhenAny(seen.Task, exited).WaitAsync(within) != seen.Task)
            {
                throw new InvalidOperationException($"avpn exited ({_process.ExitCode}) before printing '{line}'\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
            }
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"avpn did not print '{line}' within {within.TotalSeconds:0} s\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
    }

    /// <summary>SIGTERM, as Kubernetes (and systemd) stop a process.</summary>
    public void Terminate() => Signal("TERM");

    /// <summary>SIGKILL: a crash, nothing runs on the way out.</summary>
    public void Crash() => Signal("KILL");

    /// <summary>SIGSTOP / SIGCONT: the process stands still (a long pause) and then runs on.</summary>
    public void Pause() => Signal("STOP");

    public void Resume() => Signal("CONT");

    public async Task<int> WaitForExitAsync(TimeSpan within)
    {
        await _process.WaitForExitAsync().WaitAsync(within);
        _process.WaitForExit(); // the redirected output is drained to its end
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            try
            {
                Signal("CONT"); // a paused process cannot die until it runs again
            }
            catch (InvalidOperationException)
            {
                // gone already
            }

            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit(TimeSpan.FromSeconds(10));
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed ({kill.ExitCode})");
        }
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            return;
        }

        _stdout.Enqueue(line);
        _output.Enqueue(line);
        if (_awaited.TryGetValue(line, out var awaited))
        {
            awaited.TrySetResult();
        }
    }
}

/// <summary>What one run of the built <c>avpn</c> left: its exit code, stdout and stderr.</summary>
public sealed record AvpnRun(int ExitCode, string Stdout, string Stderr);
