using System.Collections.Concurrent;
using System.Diagnostics;

namespace ActorVpn.Testing;

/// <summary>
/// A running <c>avpn</c> child process (see <see cref="AvpnBinary.StartInfo"/>), its output kept line by
/// line so a test can wait for a line or read everything it printed when something fails.
/// </summary>
public sealed class AvpnProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _awaited = new(StringComparer.Ordinal);

    private AvpnProcess(Process process) => _process = process;

    /// <summary>Everything printed so far, stdout and stderr interleaved as read.</summary>
    public string Output => string.Join('\n', _output);

    public bool HasExited => _process.HasExited;

    public static AvpnProcess Start(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var avpn = new AvpnProcess(process);
        process.OutputDataReceived += (_, line) => avpn.OnLine(line.Data);
        process.ErrorDataReceived += (_, line) => avpn.OnLine(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return avpn;
    }

    /// <summary>Completes once the process prints exactly <paramref name="line"/>; throws if it exits first or the deadline passes.</summary>
    public async Task AwaitLineAsync(string line, TimeSpan within)
    {
        var seen = _awaited.GetOrAdd(line, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (_output.Contains(line))
        {
            seen.TrySetResult();
        }

        if (await Task.WhenAny(seen.Task, _process.WaitForExitAsync()).WaitAsync(within) != seen.Task)
        {
            throw new InvalidOperationException($"avpn exited ({_process.ExitCode}) before printing '{line}':\n{Output}");
        }
    }

    /// <summary>Waits for the process to end; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan within)
    {
        await _process.WaitForExitAsync().WaitAsync(within);
        _process.WaitForExit(); // the redirected output is drained to its end
        return _process.ExitCode;
    }

    /// <summary>Kills what is still running (the whole process tree) and waits for it.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // it ended meanwhile
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        if (_awaited.TryGetValue(line, out var awaited))
        {
            awaited.TrySetResult();
        }
    }
}
