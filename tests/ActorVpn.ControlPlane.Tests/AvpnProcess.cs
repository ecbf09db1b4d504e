using System.Diagnostics;
using ActorVpn.Testing;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>What one run of the built <c>avpn</c> left: its exit code, stdout and stderr.</summary>
internal sealed record AvpnRun(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs the built <c>avpn</c> to its end as a user would, killing it if it outlives <c>timeout</c>.</summary>
internal static class AvpnProcess
{
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
}
