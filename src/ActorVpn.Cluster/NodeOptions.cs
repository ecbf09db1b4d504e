using ActorVpn.Topology;
using Akka.Configuration;

namespace ActorVpn.Cluster;

/// <summary>What one cluster node hosts and how it finds its peers (<c>actorvpn.node</c>, hocon/cluster.hocon).</summary>
public sealed record NodeOptions(
    string TopologyFile,
    IReadOnlyList<string> Groups,
    IReadOnlyList<string> Proxies,
    TimeSpan DrainPeriod,
    string HealthHostname,
    int HealthPort,
    string SeedStatefulSet,
    string SeedService,
    int SeedReplicas)
{
    public const string Section = "actorvpn.node";

    /// <summary>
    /// The host clients and other proxies reach this node's proxies by (<c>actorvpn.node.advertise-host</c>,
    /// <c>AVPN_ADVERTISE_HOST</c>); empty: the node's public hostname, else the bind address.
    /// </summary>
    public string AdvertiseHost { get; init; } = string.Empty;

    /// <summary>
    /// Proxy name → the <c>host:port</c> clients outside the cluster dial for it (<c>actorvpn.node.proxy-advertise</c>,
    /// <c>AVPN_PROXY_ADVERTISE</c>): a LoadBalancer's or NodePort's address, which no pod can see for
    /// itself. Written into client profiles as the entry proxy's address (Fig. 1: the client's first
    /// hop); the relays between proxies keep using <see cref="AdvertiseHost"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string> ProxyAdvertise { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>How long a starting node waits for its store to answer before it gives up (<c>actorvpn.node.store-wait</c>).</summary>
    public TimeSpan StoreWait { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the inter-server credentials and the topology's users are checked and completed (<c>actorvpn.node.bootstrap-interval</c>).</summary>
    public TimeSpan BootstrapInterval { get; init; } = TimeSpan.FromSeconds(5);

    public static NodeOptions FromConfig(Config config)
    {
        var node = config.GetConfig(Section) ?? throw new ConfigurationException($"{Section} is missing (hocon/cluster.hocon not loaded?)");
        return new NodeOptions(
            node.GetString("topology", string.Empty),
            node.GetStringList("groups").ToList(),
            node.GetStringList("proxies").ToList(),
            node.GetTimeSpan("drain-period", TimeSpan.FromSeconds(10)),
            node.GetString("health.hostname", "0.0.0.0"),
            node.GetInt("health.port", 0),
            node.GetString("seed.statefulset", string.Empty),
            node.GetString("seed.service", string.Empty),
            node.GetInt("seed.replicas", 0))
        {
            AdvertiseHost = node.GetString("advertise-host", string.Empty),
            ProxyAdvertise = ProxyAdvertiseFrom(node),
            StoreWait = node.GetTimeSpan("store-wait", TimeSpan.FromSeconds(60)),
            BootstrapInterval = node.GetTimeSpan("bootstrap-interval", TimeSpan.FromSeconds(5)),
        };
    }

    /// <summary>
    /// What this node's proxies put in routes and profiles instead of their bind address (0.0.0.0 in a
    /// pod): <see cref="AdvertiseHost"/>, else the remote <paramref name="publicHostname"/> (in a pod
    /// <c>&lt;POD_NAME&gt;.&lt;service&gt;</c>), else null (the bind address).
    /// </summary>
    public string? AdvertisedHost(string publicHostname) =>
        AdvertiseHost.Length > 0 ? AdvertiseHost : publicHostname.Length > 0 ? publicHostname : null;

    private static Dictionary<string, string> ProxyAdvertiseFrom(Config node)
    {
        var addresses = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node.HasPath("proxy-advertise") && node.GetValue("proxy-advertise") is { } map && map.IsObject())
        {
            foreach (var (proxy, value) in map.GetObject().Items)
            {
                var text = value.GetString();
                addresses[proxy] = HostPort.TryParse(text, out var problem) is { } address
                    ? address.ToString()
                    : throw new ConfigurationException($"{Section}.proxy-advertise.{proxy}: '{text}' is not the host:port clients dial for {proxy} ({problem})");
            }
        }

        return addresses;
    }

    /// <summary>Fails fast, naming the key, if the node asks for a group or proxy the topology lacks.</summary>
    public void Validate(TopologyModel topology)
    {
        var roots = topology.Roots.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var group in Groups.Where(g => !roots.Contains(g)))
        {
            throw new ConfigurationException($"{Section}.groups: '{group}' is not a top-level auth-server group of {topology.Source} (groups: {string.Join(", ", roots.Order())})");
        }

        foreach (var proxy in Proxies.Where(p => !topology.HasProxy(p)))
        {
            throw new ConfigurationException($"{Section}.proxies: no proxy '{proxy}' in {topology.Source}");
        }

        foreach (var proxy in ProxyAdvertise.Keys.Where(p => !topology.HasProxy(p)))
        {
            throw new ConfigurationException($"{Section}.proxy-advertise: no proxy '{proxy}' in {topology.Source}");
        }

        // A port out of range would otherwise surface as an unexpected failure when the health server binds.
        if (HealthPort is < 0 or > 65535)
        {
            throw new ConfigurationException($"{Section}.health.port: {HealthPort} is not a TCP port (0 .. 65535; 0 serves no health endpoints)");
        }
    }

    /// <summary>The roles this node has: <c>auth</c> and <c>group-&lt;root&gt;</c> per hosted group, <c>proxy</c> if it hosts proxies.</summary>
    public IReadOnlyList<string> Roles(IEnumerable<string> configured)
    {
        var roles = new List<string>(configured);
        if (Groups.Count > 0)
        {
            roles.Add(ClusterRoles.Auth);
            roles.AddRange(Groups.Select(GroupPlacement.RoleOf));
        }

        if (Proxies.Count > 0)
        {
            roles.Add(ClusterRoles.Proxy);
        }

        return roles.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The seed nodes of a StatefulSet behind a headless service: pod i is
    /// <c>&lt;statefulset&gt;-i.&lt;service&gt;</c>. The one place seeds are derived from the replica
    /// count (k8s/ sets AVPN_SEED_STATEFULSET, AVPN_SEED_SERVICE, AVPN_REPLICAS from the same values).
    /// </summary>
    public IReadOnlyList<string> DerivedSeeds(string systemName, int remotePort, string protocol = "akka.tcp") =>
        SeedService.Length == 0 || SeedReplicas <= 0
            ? []
            : Enumerable.Range(0, SeedReplicas)
                .Select(i => $"{protocol}://{systemName}@{(SeedStatefulSet.Length > 0 ? SeedStatefulSet : SeedService)}-{i}.{SeedService}:{remotePort}")
                .ToList();

    /// <summary>This pod's name as its peers resolve it: <c>&lt;POD_NAME&gt;.&lt;service&gt;</c>.</summary>
    public string? PublicHostname(string? podName) =>
        SeedService.Length == 0 || string.IsNullOrEmpty(podName) ? null : $"{podName}.{SeedService}";
}

/// <summary>The cluster roles k8s/ and the code agree on.</summary>
public static class ClusterRoles
{
    public const string Auth = "auth";
    public const string Proxy = "proxy";
}
