using System.Text;
using Akka.Configuration;

namespace ActorVpn.Hosting;

/// <summary>
/// The environment variables a node (a Kubernetes pod, say) may set, and the HOCON key each one
/// overrides. This table is the one place they are defined; they form the top configuration layer.
/// (Akka's HOCON parser does not support <c>${?VAR}</c> substitutions, so they are applied here.)
/// </summary>
public static class EnvironmentOverrides
{
    public static readonly IReadOnlyDictionary<string, string> Keys = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["AVPN_LOG_LEVEL"] = "akka.loglevel",
        ["AVPN_LOG_FORMAT"] = "actorvpn.log.format",
        ["AVPN_HANDOFF_TIMEOUT"] = "actorvpn.auth-server.handoff-timeout",
        ["AVPN_HOLD_TIMEOUT"] = "actorvpn.auth-server.hold-timeout",
        ["AVPN_HANDSHAKE_TIMEOUT"] = "actorvpn.data-plane.handshake-timeout",
        ["AVPN_POSTGRES"] = "actorvpn.persistence.connection-string",
        ["AVPN_KEY_SECRET"] = "actorvpn.persistence.key-secret",

        // a cluster node (`avpn node`, hocon/cluster.hocon and hocon/remote.hocon)
        ["AVPN_HOSTNAME"] = "akka.remote.dot-netty.tcp.hostname",
        ["AVPN_PUBLIC_HOSTNAME"] = "akka.remote.dot-netty.tcp.public-hostname",
        ["AVPN_PORT"] = "akka.remote.dot-netty.tcp.port",
        ["AVPN_ADVERTISE_HOST"] = "actorvpn.node.advertise-host",
        ["AVPN_REMOTE_TLS"] = "akka.remote.dot-netty.tcp.enable-ssl",
        ["AVPN_REMOTE_TLS_CERTIFICATE"] = "akka.remote.dot-netty.tcp.ssl.certificate.path",
        ["AVPN_REMOTE_TLS_PASSWORD"] = "akka.remote.dot-netty.tcp.ssl.certificate.password",
        ["AVPN_REMOTE_TLS_CA"] = "actorvpn.node.remote-tls.ca",
        ["AVPN_TOPOLOGY"] = "actorvpn.node.topology",
        ["AVPN_DRAIN_PERIOD"] = "actorvpn.node.drain-period",
        ["AVPN_HEALTH_PORT"] = "actorvpn.node.health.port",
        ["AVPN_SEED_STATEFULSET"] = "actorvpn.node.seed.statefulset",
        ["AVPN_SEED_SERVICE"] = "actorvpn.node.seed.service",
        ["AVPN_REPLICAS"] = "actorvpn.node.seed.replicas",

        // the operator console of a node (hocon/console.hocon): where it listens ("off": none), and
        // where `avpn node` keeps admin.avpn and the console authority (a writable volume in a pod)
        ["AVPN_CONSOLE_ENDPOINT"] = "actorvpn.console.endpoint",
        ["AVPN_CONSOLE_DATA_DIRECTORY"] = "actorvpn.console.data-directory",
    };

    /// <summary>Variables holding a comma-separated list, set as a HOCON list.</summary>
    public static readonly IReadOnlyDictionary<string, string> ListKeys = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["AVPN_SEED_NODES"] = "akka.cluster.seed-nodes",
        ["AVPN_ROLES"] = "akka.cluster.roles",
        ["AVPN_GROUPS"] = "actorvpn.node.groups",
        ["AVPN_PROXIES"] = "actorvpn.node.proxies",
    };

    /// <summary>
    /// Variables holding comma-separated <c>name=value</c> pairs, set as a HOCON object: the external
    /// address clients dial for each entry proxy (<c>proxy1=vpn.example.net:7101</c>), which an overlay
    /// sets from its Service.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> MapKeys = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["AVPN_PROXY_ADVERTISE"] = "actorvpn.node.proxy-advertise",
    };

    /// <summary>The override layer for the given environment (by default the process's own).</summary>
    public static Config FromEnvironment(Func<string, string?>? lookup = null)
    {
        lookup ??= Environment.GetEnvironmentVariable;
        var text = new StringBuilder();
        foreach (var (variable, key) in Keys)
        {
            if (lookup(variable) is { Length: > 0 } value)
            {
                text.Append(key).Append(" = ").Append(Quote(value)).Append('\n');
            }
        }

        foreach (var (variable, key) in ListKeys)
        {
            if (lookup(variable) is { Length: > 0 } value)
            {
                var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Quote);
                text.Append(key).Append(" = [").Append(string.Join(", ", items)).Append("]\n");
            }
        }

        foreach (var (variable, key) in MapKeys)
        {
            if (lookup(variable) is { Length: > 0 } value)
            {
                foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                    {
                        throw new ConfigurationException($"{variable}: '{pair}' is not name=value (e.g. proxy1=vpn.example.net:7101)");
                    }

                    text.Append(key).Append('.').Append(Quote(pair[..equals].Trim())).Append(" = ").Append(Quote(pair[(equals + 1)..].Trim())).Append('\n');
                }
            }
        }

        return text.Length == 0 ? Config.Empty : ConfigurationFactory.ParseString(text.ToString());
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
