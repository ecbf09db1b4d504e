namespace ActorVpn.Topology;

/// <summary>The problems found in one topology file, thrown together so one run shows them all.</summary>
internal sealed class TopologyProblems(string source)
{
    private readonly List<TopologyException> _problems = [];

    public bool Any => _problems.Count > 0;

    public void Add(string path, string problem) => _problems.Add(new TopologyException(source, path, problem));

    public void ThrowIfAny()
    {
        if (_problems.Count == 1)
        {
            throw _problems[0];
        }

        if (_problems.Count > 1)
        {
            throw new TopologyException(_problems);
        }
    }
}
