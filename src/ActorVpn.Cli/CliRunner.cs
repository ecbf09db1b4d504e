using System.CommandLine;
using ActorVpn.Topology;
using Akka.Configuration;

namespace ActorVpn.Cli;

/// <summary>Runs a command line; turns every expected failure into one line on stderr and a non-zero exit code.</summary>
public static class CliRunner
{
    public const int Usage = 2;
    public const int Failed = 1;

    public static async Task<int> RunAsync(RootCommand root, string[] args)
    {
        try
        {
            return await root.Parse(args).InvokeAsync();
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    /// <summary>Prints an error a person can act on (never a stack trace for an expected failure).</summary>
    public static int Report(Exception e)
    {
        switch (e)
        {
            case TopologyException topology:
                foreach (var problem in topology.Problems)
                {
                    Console.Error.WriteLine($"avpn: topology error: {problem.Message}");
                }

                return Usage;
            case ConfigurationException configuration:
                Console.Error.WriteLine($"avpn: configuration error: {configuration.Message}");
                return Usage;
            case CliException cli:
                Console.Error.WriteLine($"avpn: {cli.Message}");
                return cli.ExitCode;
            case OperationCanceledException:
                Console.Error.WriteLine("avpn: cancelled");
                return Failed;
            default:
                Console.Error.WriteLine($"avpn: {e.GetType().Name}: {e.Message}");
                if (Environment.GetEnvironmentVariable("AVPN_DEBUG") is "1")
                {
                    Console.Error.WriteLine(e);
                }

                return Failed;
        }
    }
}

/// <summary>An expected failure of a command, with the exit code to use.</summary>
public sealed class CliException(string message, int exitCode = CliRunner.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
