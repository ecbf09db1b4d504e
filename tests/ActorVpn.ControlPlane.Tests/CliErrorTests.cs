using ActorVpn.Testing;
using Xunit;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>
/// Every file a user hands to <c>avpn</c> can be missing, unreadable, not what it should be or another kind of file:
/// each command says so in the product's terms (the file, the field, what to do) on one line, exits 2, and never
/// shows a CLR exception name or a stack unless asked with <c>--verbose</c> or <c>AVPN_LOG_LEVEL=debug</c>.
/// </summary>
public sealed class CliErrorTests : IDisposable
{
    private const string ProfileJson = """{"version": 1, "profile": {"user": "alice", "homeServer": "as1"}}""";
    private const string AdminJson = """{"version": 1, "credential": {"endpoint": "127.0.0.1:9110"}}""";

    /// <summary>Neither JSON nor HOCON: JSON fails at its first character, HOCON on the object left open.</summary>
    private const string Malformed = "version = 1\nprofile {\n";

    private readonly string _directory = Directory.CreateTempSubdirectory("avpn-errors-").FullName;

    private static Task<AvpnRun> AvpnAsync(IEnumerable<string> args, params (string Name, string Value)[] environment) =>
        AvpnProcess.RunAsync(args, TimeSpan.FromSeconds(60), environment);

    private string File(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The command line with the file in its place.</summary>
    private static string[] Command(string command, string file) => command switch
    {
        "connect" => ["connect", "--profile", file, "--to", "server", "--listen", "127.0.0.1:9"],
        "console" => ["console", "--admin", file, "--", "auth", "list"],
        "user" => ["user", "list", "--admin", file],
        "route" => ["route", "trace", "--topology", file, "--user", "alice", "--to", "server"],
        "up" => ["up", "--topology", file, "--store", "memory"],
        "demo" => ["demo", "--topology", file],
        "node" => ["node", "--config", file],
        _ => throw new ArgumentOutOfRangeException(nameof(command)),
    };

    [Theory]
    [InlineData("connect", "no such file", "is a directory", "the file is not JSON (line 1, column 1)", "is an operator credential, not a client profile: give it to --admin")]
    [InlineData("console", "no such file", "is a directory", "the file is not JSON (line 1, column 1)", "is a client profile, not an operator credential: give it to --profile")]
    [InlineData("user", "no such file", "is a directory", "the file is not JSON (line 1, column 1)", "is a client profile, not an operator credential: give it to --profile")]
    [InlineData("route", "no such file", "is a directory", "not valid HOCON", "this is a client profile (give it to --profile), not a topology file")]
    [InlineData("up", "no such file", "is a directory", "not valid HOCON", "this is a client profile (give it to --profile), not a topology file")]
    [InlineData("demo", "no such file", "is a directory", "not valid HOCON", "this is a client profile (give it to --profile), not a topology file")]
    [InlineData("node", "configuration file not found", "is a directory", "not valid HOCON", "sets nothing under 'actorvpn' or 'akka'")]
    public async Task A_missing_unreadable_malformed_or_wrong_kind_file_is_named_with_what_is_wrong(string command, string missing, string unreadable, string malformed, string wrongKind)
    {
        var wrongFile = command is "connect" ? File("admin.avpn", AdminJson) : File("alice.avpn", ProfileJson);
        var cases = new[]
        {
            (File: Path.Combine(_directory, "absent.avpn"), Expected: missing),
            (File: Directory.CreateDirectory(Path.Combine(_directory, "a-directory")).FullName, Expected: unreadable),
            (File: File("malformed", Malformed), Expected: malformed),
            (File: wrongFile, Expected: wrongKind),
        };

        foreach (var (file, expected) in cases)
        {
            var run = await AvpnAsync(Command(command, file));

            Assert.True(run.ExitCode == 2, $"avpn {command} with {file}: exit {run.ExitCode}, stderr: {run.Stderr}");
            var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(file, line, StringComparison.Ordinal);
            Assert.Contains(expected, line, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_profile_without_its_certificate_names_the_missing_field_and_verbose_adds_the_stack()
    {
        var profile = File("incomplete.avpn", """{"version": 1, "profile": {"user": "alice", "homeServer": "as1", "privateKeyPem": "-", "trustAnchorPem": "-", "entries": {}}}""");

        var plain = await AvpnAsync(Command("connect", profile));
        var line = Assert.Single(plain.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"{profile}: field 'profile.certificatePem' is missing", line, StringComparison.Ordinal);
        Assert.Contains("avpn up", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", plain.Stderr, StringComparison.Ordinal);

        var verbose = await AvpnAsync([.. Command("connect", profile), "--verbose"]);
        Assert.Contains("field 'profile.certificatePem' is missing", verbose.Stderr, StringComparison.Ordinal);
        Assert.Contains("   at ", verbose.Stderr, StringComparison.Ordinal);

        var debug = await AvpnAsync(Command("connect", profile), ("AVPN_LOG_LEVEL", "debug"));
        Assert.Contains("   at ", debug.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
