namespace ActorVpn.Topology;

/// <summary>
/// A topology file that cannot be used. The message names the file, the HOCON path in it and the
/// problem, so a person can fix it without reading a stack trace.
/// </summary>
public sealed class TopologyException : Exception
{
    public TopologyException(string file, string path, string problem)
        : base($"{file}: {path}: {problem}")
    {
        File = file;
        Path = path;
        Problem = problem;
        Problems = [this];
    }

    public TopologyException(IReadOnlyList<TopologyException> problems)
        : base(string.Join(Environment.NewLine, problems.Select(p => p.Message)))
    {
        File = problems[0].File;
        Path = problems[0].Path;
        Problem = problems[0].Problem;
        Problems = problems;
    }

    /// <summary>The file (or embedded name) the problem is in.</summary>
    public string File { get; }

    /// <summary>The HOCON path of the offending value, e.g. <c>actorvpn.topology.auth-servers.as2.parent</c>.</summary>
    public string Path { get; }

    public string Problem { get; }

    /// <summary>Every problem found (validation reports them all at once).</summary>
    public IReadOnlyList<TopologyException> Problems { get; }
}
