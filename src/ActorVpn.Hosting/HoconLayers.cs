using Akka.Configuration;

namespace ActorVpn.Hosting;

/// <summary>
/// Builds a node's configuration from the HOCON files under <c>hocon/</c>, in layers: the base
/// (<c>actorvpn.hocon</c>, <c>akka.hocon</c>), then one file per concern, then an optional operator
/// file, then environment variables, then explicit overrides. Environment variables enter through
/// <see cref="EnvironmentOverrides"/>, one table naming every key a pod may set.
/// </summary>
public static class HoconLayers
{
    public const string Base = "actorvpn";
    public const string Akka = "akka";
    public const string PersistenceInMemory = "persistence.inmem";

    public static IReadOnlyList<string> Available =>
        typeof(HoconLayers).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("hocon/", StringComparison.Ordinal))
            .Select(n => n["hocon/".Length..^".hocon".Length])
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>The text of one embedded layer, e.g. <c>Text("cluster")</c>.</summary>
    public static string Text(string layer)
    {
        using var stream = typeof(HoconLayers).Assembly.GetManifestResourceStream($"hocon/{layer}.hocon")
            ?? throw new ConfigurationException($"no HOCON layer '{layer}' (known: {string.Join(", ", Available)})");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <param name="concerns">Concern layers, lowest precedence first, e.g. "persistence.sqlite", "console".</param>
    /// <param name="operatorFile">An optional HOCON file of the operator's (e.g. <c>avpn node --config F</c>).</param>
    /// <param name="overrides">Highest precedence, e.g. settings from the command line.</param>
    /// <param name="environment">Environment variables (<see cref="EnvironmentOverrides"/>); default: the process's.</param>
    public static Config Load(IEnumerable<string> concerns, string? operatorFile = null, Config? overrides = null, Func<string, string?>? environment = null)
    {
        var layers = new List<Config>();
        if (overrides is not null)
        {
            layers.Add(overrides);
        }

        layers.Add(EnvironmentOverrides.FromEnvironment(environment));

        if (operatorFile is not null)
        {
            if (!File.Exists(operatorFile))
            {
                throw new ConfigurationException(Directory.Exists(operatorFile)
                    ? $"{operatorFile}: is a directory, not a configuration file (HOCON)"
                    : $"{operatorFile}: configuration file not found");
            }

            string text;
            try
            {
                text = File.ReadAllText(operatorFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigurationException($"{operatorFile}: cannot read the configuration file: {e.Message}");
            }

            var layer = ParseLayer(text, operatorFile);
            if (!layer.HasPath("actorvpn") && !layer.HasPath("akka"))
            {
                // Most likely a client profile or operator credential (JSON, which HOCON also reads): it would configure nothing.
                throw new ConfigurationException($"{operatorFile}: sets nothing under 'actorvpn' or 'akka', so it is not an avpn configuration " +
                    "(a client profile goes to --profile, an operator credential to --admin)");
            }

            layers.Add(layer);
        }

        foreach (var concern in concerns.Reverse())
        {
            layers.Add(ParseLayer(Text(concern), $"hocon/{concern}.hocon"));
        }

        layers.Add(ParseLayer(Text(Akka), "hocon/akka.hocon"));
        layers.Add(ParseLayer(Text(Base), "hocon/actorvpn.hocon"));
        return layers.Aggregate((higher, lower) => higher.WithFallback(lower));
    }

    private static Config ParseLayer(string text, string source)
    {
        // Akka's HOCON parser never returns on a list left open, so brackets are checked first.
        if (ActorVpn.Topology.Hocon.HoconPreLexer.UnbalancedBracket(text) is { } problem)
        {
            throw new ConfigurationException($"{source}: not valid HOCON: {problem}");
        }

        try
        {
            return ConfigurationFactory.ParseString(text);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException($"{source}: not valid HOCON: {e.Message.Split('\n')[0]}");
        }
    }
}
