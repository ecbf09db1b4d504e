using System.Text;
using ActorVpn.Hosting;
using ActorVpn.Testing;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.Cluster.Tests;

/// <summary>The rendered manifests as each pod would run (<see cref="KustomizedPods"/>): what a deployment test launches `avpn node` with.</summary>
public sealed class KustomizedPodsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvpn-kustomized-").FullName;

    [Fact]
    public void Every_pod_of_the_dev_overlay_gets_its_name_its_secrets_its_own_certificate_and_its_config_file()
    {
        using var ca = new ClusterCertificates(_dir);
        var auth = Enumerable.Range(0, 3).Select(i => $"actorvpn-auth-{i}").ToList();
        var secrets = new Dictionary<string, IReadOnlyDictionary<string, byte[]>>(StringComparer.Ordinal)
        {
            ["actorvpn-postgres"] = Keys(("password", "pw"), ("connection-string", "Host=127.0.0.1;Port=5432;Database=actorvpn;Username=actorvpn;Password=pw")),
            ["actorvpn-keys"] = Keys(("key-secret", "a-key-secret")),
            ["actorvpn-remote-tls-auth"] = TlsSecret(ca, auth),
            ["actorvpn-remote-tls-proxy"] = TlsSecret(ca, ["actorvpn-proxy-0"]),
        };

        var pods = KustomizedPods.Pods(Path.Combine(ManifestTests.Root, "k8s", "overlays", "dev"), secrets);

        Assert.Equal([.. auth, "actorvpn-proxy-0"], pods.Where(p => p.StatefulSet != "actorvpn-postgres").Select(p => p.Name).Order());
        var auth1 = pods.Single(p => p.Name == "actorvpn-auth-1");
        Assert.Equal("actorvpn-auth-1", auth1.Environment["POD_NAME"]);
        Assert.Equal("a-key-secret", auth1.Environment["AVPN_KEY_SECRET"]);
        Assert.Equal(["node", "--config", "/etc/actorvpn/auth.hocon"], auth1.Args);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "actorvpn-auth-1.pfx")), auth1.Files["/etc/actorvpn-tls/node.pfx"]); // its own, nobody else's
        Assert.Equal(File.ReadAllBytes(ca.CaPath), auth1.Files["/etc/actorvpn-tls/ca.crt"]);
        Assert.DoesNotContain(auth1.Files.Keys, f => f.EndsWith("actorvpn-auth-0.pfx", StringComparison.Ordinal));

        var proxy = pods.Single(p => p.Name == "actorvpn-proxy-0");
        Assert.Equal("actorvpn-proxy-0.actorvpn-cluster", proxy.Environment["AVPN_ADVERTISE_HOST"]); // $(POD_NAME) expanded

        // What `avpn node` makes of it: its file from the ConfigMap, under the pod's environment.
        var file = Path.Combine(_dir, "auth.hocon");
        File.WriteAllBytes(file, auth1.Files["/etc/actorvpn/auth.hocon"]);
        var config = ClusterNode.LoadConfig(file, environment: v => auth1.Environment.GetValueOrDefault(v));
        Assert.Equal("postgres", config.GetString("actorvpn.persistence.store"));
        Assert.Equal("/etc/actorvpn-tls/ca.crt", config.GetString(RemoteTls.CaKey));
        var options = NodeOptions.FromConfig(config);
        Assert.Equal(["as1", "as4"], options.Groups);
        Assert.Equal("actorvpn-auth-1.actorvpn-cluster", options.PublicHostname(auth1.Environment["POD_NAME"]));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IReadOnlyDictionary<string, byte[]> Keys(params (string Key, string Value)[] keys) =>
        keys.ToDictionary(k => k.Key, k => Encoding.UTF8.GetBytes(k.Value), StringComparer.Ordinal);

    private static IReadOnlyDictionary<string, byte[]> TlsSecret(ClusterCertificates ca, IEnumerable<string> pods)
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["ca.crt"] = File.ReadAllBytes(ca.CaPath),
            ["password"] = Encoding.UTF8.GetBytes("node-password"),
        };
        foreach (var pod in pods)
        {
            keys[$"{pod}.pfx"] = File.ReadAllBytes(ca.IssueNode(pod, "node-password"));
        }

        return keys;
    }
}
