using System.Diagnostics;

namespace ActorVpn.Testing;

/// <summary>
/// The built <c>avpn</c> as a user runs it, for tests that launch it as a child process: the test project
/// references the Cli project, so <c>avpn.dll</c> is copied next to the test binaries.
/// </summary>
public static class AvpnBinary
{
    /// <summary>
    /// How to start <c>avpn</c> with <paramref name="args"/>: through the same <c>dotnet</c> host as the test run,
    /// stdout and stderr redirected, and without the caller's <c>AVPN_*</c> environment (the test decides all of it).
    /// </summary>
    /// <exception cref="FileNotFoundException"><c>avpn.dll</c> is not next to the test binaries.</exception>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var avpn = Path.Combine(AppContext.BaseDirectory, "avpn.dll");
        if (!File.Exists(avpn))
        {
            throw new FileNotFoundException($"{avpn} is missing: reference the Cli project so it is copied next to the tests", avpn);
        }

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(avpn);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var variable in start.Environment.Keys.Where(k => k.StartsWith("AVPN_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(variable);
        }

        return start;
    }
}
