using System.CommandLine;
using ActorVpn.Credentials;
using ActorVpn.Topology;
using Akka.Configuration;

namespace ActorVpn.Cli;

/// <summary>Runs a command line; turns every expected failure into one line on stderr and a non-zero exit code.</summary>
public static class CliRunner
{
    public const int Usage = 2;
    public const int Failed = 1;

    /// <summary><c>--verbose</c> on any command: an error also prints its stack, for a bug report.</summary>
    public static readonly Option<bool> VerboseOption = new("--verbose")
    {
        Description = "On an error, also print its stack (for a bug report); AVPN_LOG_LEVEL=debug does the same",
        Recursive = true,
    };

    private static bool _verbose;

    public static async Task<int> RunAsync(RootCommand root, string[] args)
    {
        try
        {
            var parse = root.Parse(args);
            _verbose = parse.GetValue(VerboseOption)
                || string.Equals(Environment.GetEnvironmentVariable("AVPN_LOG_LEVEL"), "debug", StringComparison.OrdinalIgnoreCase);
            return await parse.InvokeAsync();
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    /// <summary>
    /// Prints an error a person can act on, in the product's terms: which file, which field, what to do. Never a CLR
    /// exception name or a parser's internals; <c>--verbose</c> (or <c>AVPN_LOG_LEVEL=debug</c>) adds the stack.
    /// </summary>
    public static int Report(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            e = aggregate.InnerExceptions[0];
        }

        var exitCode = Failed;
        switch (e)
        {
            case TopologyException topology:
                foreach (var problem in topology.Problems)
                {
                    Console.Error.WriteLine($"avpn: topology error: {problem.Message}");
                }

                exitCode = Usage;
                break;
            case ConfigurationException configuration:
                Console.Error.WriteLine($"avpn: configuration error: {configuration.Message}");
                exitCode = Usage;
                break;
            case CliException cli:
                Console.Error.WriteLine($"avpn: {cli.Message}");
                exitCode = cli.ExitCode;
                break;
            case CredentialException credential:
                // Names the file, the field and what to do (CredentialFile).
                Console.Error.WriteLine($"avpn: {credential.Message}");
                exitCode = Usage;
                break;
            case OperationCanceledException:
                Console.Error.WriteLine("avpn: cancelled");
                break;
            case IOException or UnauthorizedAccessException:
                Console.Error.WriteLine($"avpn: {e.Message}");
                break;
            case System.Net.Sockets.SocketException socket:
                Console.Error.WriteLine($"avpn: network: {socket.Message}");
                break;
            default:
                Console.Error.WriteLine($"avpn: unexpected failure: {e.Message} (this is a bug: run again with --verbose and report what it prints)");
                break;
        }

        if (_verbose || Environment.GetEnvironmentVariable("AVPN_DEBUG") is "1")
        {
            Console.Error.WriteLine(e);
        }

        return exitCode;
    }
}

/// <summary>An expected failure of a command, with the exit code to use.</summary>
public sealed class CliException(string message, int exitCode = CliRunner.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
