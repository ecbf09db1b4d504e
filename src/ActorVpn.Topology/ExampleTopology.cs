namespace ActorVpn.Topology;

/// <summary>The patent's example system (hocon/topology.example.hocon), embedded as the default topology.</summary>
public static class ExampleTopology
{
    public const string SourceName = "topology.example.hocon (embedded)";

    public static string Text
    {
        get
        {
            using var stream = typeof(ExampleTopology).Assembly.GetManifestResourceStream("topology.example.hocon")
                ?? throw new InvalidOperationException("the embedded example topology is missing from the build");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    public static TopologyModel Load() => TopologyLoader.LoadText(Text, SourceName);

    /// <summary>Loads <paramref name="path"/>, or the embedded example when no path is given.</summary>
    public static TopologyModel LoadOrDefault(string? path) =>
        string.IsNullOrEmpty(path) ? Load() : TopologyLoader.LoadFile(path);
}
