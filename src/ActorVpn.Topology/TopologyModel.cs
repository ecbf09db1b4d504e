namespace ActorVpn.Topology;

/// <summary>A "host:port" endpoint, as written in a topology file.</summary>
public readonly record struct HostPort(string Host, int Port)
{
    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>Parses "host:port" or "[v6]:port"; returns null with a reason on bad input.</summary>
    public static HostPort? TryParse(string text, out string? problem)
    {
        problem = null;
        var trimmed = text.Trim();
        int colon = trimmed.LastIndexOf(':');
        if (colon <= 0 || colon == trimmed.Length - 1)
        {
            problem = $"'{text}' is not of the form host:port";
            return null;
        }

        var host = trimmed[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (!int.TryParse(trimmed[(colon + 1)..], out var port) || port is < 1 or > 65535)
        {
            problem = $"'{text}' has no valid port (1-65535)";
            return null;
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
        {
            problem = $"'{text}' has no valid host";
            return null;
        }

        return new HostPort(host, port);
    }

    public static HostPort Parse(string text) =>
        TryParse(text, out var problem) ?? throw new FormatException(problem);
}

/// <summary>Fig. 2, one row: where an auth server sends a hand-off for a destination.</summary>
public abstract record RouteTarget
{
    /// <summary>Fig. 2 "End": this server's relay proxy reaches the destination directly.</summary>
    public sealed record End : RouteTarget
    {
        public static readonly End Instance = new();
        public override string ToString() => "end";
    }

    /// <summary>Fig. 2: hand the certificate on to this auth server.</summary>
    public sealed record Next(string AuthServer) : RouteTarget
    {
        public override string ToString() => AuthServer;
    }
}

/// <summary>One authentication server with its Fig. 2, 3 and 4 entries and the peers it trusts (【0023】).</summary>
public sealed record AuthServerSpec(
    string Name,
    string? Parent,
    IReadOnlyDictionary<string, RouteTarget> Routes,
    IReadOnlyDictionary<string, string> Relays,
    IReadOnlyList<string> Trusts);

/// <summary>A proxy of Fig. 1: where it listens and which auth server it belongs to.</summary>
public sealed record ProxySpec(string Name, string AuthServer, HostPort Listen);

/// <summary>A user registered at start-up, at its home (nearest) auth server only.</summary>
public sealed record UserSpec(string Name, string AuthServer);

/// <summary>A whole system: the patent's Figs. 1-4 plus the pre-distributed inter-server trust.</summary>
public sealed class TopologyModel
{
    public TopologyModel(
        string source,
        IReadOnlyDictionary<string, HostPort> destinations,
        IReadOnlyList<AuthServerSpec> authServers,
        IReadOnlyList<ProxySpec> proxies,
        IReadOnlyList<UserSpec> users)
    {
        Source = source;
        Destinations = destinations;
        AuthServers = authServers;
        Proxies = proxies;
        Users = users;
        _authByName = authServers.ToDictionary(a => a.Name, StringComparer.Ordinal);
        _proxyByName = proxies.ToDictionary(p => p.Name, StringComparer.Ordinal);
    }

    private readonly Dictionary<string, AuthServerSpec> _authByName;
    private readonly Dictionary<string, ProxySpec> _proxyByName;

    /// <summary>Where the topology came from (a file path, or a name for embedded text).</summary>
    public string Source { get; }

    public IReadOnlyDictionary<string, HostPort> Destinations { get; }

    /// <summary>Auth servers in file order.</summary>
    public IReadOnlyList<AuthServerSpec> AuthServers { get; }

    public IReadOnlyList<ProxySpec> Proxies { get; }

    public IReadOnlyList<UserSpec> Users { get; }

    public AuthServerSpec AuthServer(string name) =>
        _authByName.TryGetValue(name, out var spec) ? spec : throw new KeyNotFoundException($"no auth server '{name}' in {Source}");

    public bool HasAuthServer(string name) => _authByName.ContainsKey(name);

    public ProxySpec Proxy(string name) =>
        _proxyByName.TryGetValue(name, out var spec) ? spec : throw new KeyNotFoundException($"no proxy '{name}' in {Source}");

    public bool HasProxy(string name) => _proxyByName.ContainsKey(name);

    /// <summary>Fig. 4 read downwards: the members of the group whose upper server is <paramref name="name"/>.</summary>
    public IReadOnlyList<AuthServerSpec> MembersOf(string name) =>
        AuthServers.Where(a => a.Parent == name).ToList();

    /// <summary>Auth servers with no upper server: the roots of the Fig. 4 tree.</summary>
    public IReadOnlyList<AuthServerSpec> Roots => AuthServers.Where(a => a.Parent is null).ToList();

    /// <summary>Chain of upper servers from the root down to <paramref name="name"/> (inclusive).</summary>
    public IReadOnlyList<string> LineageOf(string name)
    {
        var lineage = new List<string>();
        for (var current = AuthServer(name); ; current = AuthServer(current.Parent!))
        {
            lineage.Insert(0, current.Name);
            if (current.Parent is null)
            {
                return lineage;
            }
        }
    }

    /// <summary>The proxies an auth server manages (Fig. 1: "belongs to").</summary>
    public IReadOnlyList<ProxySpec> ProxiesOf(string authServer) =>
        Proxies.Where(p => p.AuthServer == authServer).ToList();
}
