using System.Diagnostics;

namespace ActorVpn.Persistence.Tests;

/// <summary>The kill -9 test's child: tests/ActorVpn.Persistence.Writer, run with <c>dotnet</c> from its own output folder.</summary>
public sealed class WriterProcess : IDisposable
{
    private readonly Process _process;

    private WriterProcess(Process process) => _process = process;

    public static WriterProcess Start(TestStore store)
    {
        // tests/ActorVpn.Persistence.Tests/bin/<Configuration>/<tfm>/ -> tests/ActorVpn.Persistence.Writer/bin/<Configuration>/<tfm>/
        var tfm = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = tfm.Parent!;
        var dll = Path.Combine(configuration.Parent!.Parent!.Parent!.FullName, "ActorVpn.Persistence.Writer", "bin", configuration.Name, tfm.Name, "ActorVpn.Persistence.Writer.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("the writer child process is not built", dll);
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { dll, store.Store, store.DataDirectory }.Concat(store.ConnectionString is null ? [] : [store.ConnectionString]))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start the writer");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return new WriterProcess(process);
    }

    /// <summary>Reads confirmed writes until <paramref name="enough"/> says stop (at most two minutes).</summary>
    public async Task ReadUntilAsync(Func<string, bool> enough)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (await _process.StandardOutput.ReadLineAsync(cancel.Token) is { } line)
        {
            if (line != "started" && enough(line))
            {
                return;
            }
        }

        throw new InvalidOperationException($"the writer ended early (exit {(_process.HasExited ? _process.ExitCode : -1)})");
    }

    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }
}
