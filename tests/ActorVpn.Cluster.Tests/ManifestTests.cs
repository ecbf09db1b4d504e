using System.Diagnostics;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Configuration;
using k8s;
using k8s.Models;
using Xunit;

namespace ActorVpn.Cluster.Tests;

/// <summary>
/// k8s/ without a cluster: every overlay renders with <c>kubectl kustomize</c>, every document loads
/// as its typed object (KubernetesClient, strict: misspelt fields fail), and what the manifests say
/// agrees with hocon/, the topology and <see cref="EnvironmentOverrides"/>.
/// </summary>
public sealed class ManifestTests
{
    private static readonly string Root = FindRoot();

    public static TheoryData<string> Kustomizations() => new() { "k8s/base", "k8s/overlays/dev", "k8s/overlays/prod" };

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_rendered_document_loads_strictly_as_a_typed_object(string dir)
    {
        var objects = Render(dir);
        Assert.NotEmpty(objects);
        Assert.All(objects, o => Assert.IsAssignableFrom<IKubernetesObject>(o));
        Assert.Contains(objects, o => o is V1Namespace);
        Assert.Contains(objects, o => o is V1ServiceAccount);
        Assert.Contains(objects, o => o is V1Role);
        Assert.Contains(objects, o => o is V1RoleBinding);
        Assert.Contains(objects, o => o is V1ConfigMap);
        Assert.Contains(objects, o => o is V1PodDisruptionBudget);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Ports_and_probes_agree_with_hocon(string dir)
    {
        var objects = Render(dir);
        var cluster = ConfigurationFactory.ParseString(HoconLayers.Text("cluster")).WithFallback(ConfigurationFactory.ParseString(HoconLayers.Text("remote")));
        var remotePort = cluster.GetInt("akka.remote.dot-netty.tcp.port");
        var healthPort = cluster.GetInt("actorvpn.node.health.port");

        foreach (var set in Nodes(objects))
        {
            var container = set.Spec.Template.Spec.Containers.Single(c => c.Name == "avpn");
            Assert.Equal(remotePort, container.Ports.Single(p => p.Name == "remote").ContainerPort);
            Assert.Equal(healthPort, container.Ports.Single(p => p.Name == "health").ContainerPort);
            Assert.Equal(remotePort.ToString(System.Globalization.CultureInfo.InvariantCulture), Env(container, "AVPN_PORT"));
            Assert.Equal(healthPort.ToString(System.Globalization.CultureInfo.InvariantCulture), Env(container, "AVPN_HEALTH_PORT"));
            Assert.Equal(HealthPaths.Live, container.LivenessProbe.HttpGet.Path);
            Assert.Equal(HealthPaths.Ready, container.ReadinessProbe.HttpGet.Path);
            Assert.Equal("health", container.LivenessProbe.HttpGet.Port.Value);
            Assert.NotNull(container.Resources.Requests);
            Assert.True(set.Spec.Template.Spec.TerminationGracePeriodSeconds >= 30, "room for the drain period and a graceful leave");
            Assert.True(set.Spec.Template.Spec.SecurityContext.RunAsNonRoot);
            Assert.Matches(@":[0-9][^:]*$", container.Image); // a pinned tag, never :latest or none
        }

        var headless = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "actorvpn-cluster");
        Assert.Equal(remotePort, headless.Spec.Ports.Single(p => p.Name == "remote").Port);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_environment_variable_is_in_the_override_table(string dir)
    {
        var known = EnvironmentOverrides.Keys.Keys.Concat(EnvironmentOverrides.ListKeys.Keys).Append("POD_NAME").ToHashSet(StringComparer.Ordinal);
        foreach (var set in Nodes(Render(dir)))
        {
            foreach (var variable in set.Spec.Template.Spec.Containers.Single(c => c.Name == "avpn").Env)
            {
                Assert.Contains(variable.Name, known);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Auth_nodes_share_the_store_from_secrets_and_proxies_advertise_their_pod_name(string dir)
    {
        var objects = Render(dir);
        var map = objects.OfType<V1ConfigMap>().Single(m => m.Metadata.Name.StartsWith("actorvpn-config", StringComparison.Ordinal));
        foreach (var set in Nodes(objects))
        {
            var container = set.Spec.Template.Spec.Containers.Single(c => c.Name == "avpn");
            var options = NodeOptions.FromConfig(ConfigurationFactory.ParseString(map.Data[Path.GetFileName(container.Args[^1])])
                .WithFallback(ConfigurationFactory.ParseString(HoconLayers.Text("cluster"))));
            if (options.Groups.Count > 0)
            {
                foreach (var variable in new[] { "AVPN_POSTGRES", "AVPN_KEY_SECRET" })
                {
                    var secret = container.Env.Single(e => e.Name == variable).ValueFrom?.SecretKeyRef;
                    Assert.True(secret is not null, $"{set.Metadata.Name}: {variable} must come from a Secret");
                }

                Assert.Equal("actorvpn.persistence.connection-string", EnvironmentOverrides.Keys["AVPN_POSTGRES"]);
            }

            if (options.Proxies.Count > 0)
            {
                // Kubernetes expands $(POD_NAME) (declared before it); the name peers resolve behind the headless service.
                Assert.True(container.Env.ToList().FindIndex(e => e.Name == "POD_NAME") < container.Env.ToList().FindIndex(e => e.Name == "AVPN_ADVERTISE_HOST"));
                Assert.Equal($"$(POD_NAME).{Env(container, "AVPN_SEED_SERVICE")}", Env(container, "AVPN_ADVERTISE_HOST"));
                Assert.Equal("actorvpn.node.advertise-host", EnvironmentOverrides.Keys["AVPN_ADVERTISE_HOST"]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Seed_nodes_follow_the_auth_replica_count_and_the_headless_service(string dir)
    {
        var objects = Render(dir);
        var sets = Nodes(objects).ToList();
        foreach (var set in sets)
        {
            var container = set.Spec.Template.Spec.Containers.Single(c => c.Name == "avpn");
            var seedSet = sets.Single(s => s.Metadata.Name == Env(container, "AVPN_SEED_STATEFULSET"));
            Assert.Equal(seedSet.Spec.Replicas.ToString(), Env(container, "AVPN_REPLICAS"));
            Assert.Equal(seedSet.Spec.ServiceName, Env(container, "AVPN_SEED_SERVICE"));
            Assert.Equal(seedSet.Spec.ServiceName, set.Spec.ServiceName);
            Assert.Equal("metadata.name", container.Env.Single(e => e.Name == "POD_NAME").ValueFrom.FieldRef.FieldPath);

            // what `avpn node` derives from these, for pod 1 of this set
            var options = new NodeOptions(string.Empty, [], [], TimeSpan.Zero, "0.0.0.0", 0, Env(container, "AVPN_SEED_STATEFULSET")!, Env(container, "AVPN_SEED_SERVICE")!, seedSet.Spec.Replicas!.Value);
            Assert.Equal(seedSet.Spec.Replicas, options.DerivedSeeds(ClusterNode.SystemName, 4053).Count);
            Assert.Equal($"{set.Metadata.Name}-1.{set.Spec.ServiceName}", options.PublicHostname($"{set.Metadata.Name}-1"));
        }

        var headless = objects.OfType<V1Service>().Single(s => s.Metadata.Name == sets[0].Spec.ServiceName);
        Assert.Equal("None", headless.Spec.ClusterIP);
        Assert.True(headless.Spec.PublishNotReadyAddresses);
        Assert.All(sets, set => Assert.True(Selects(headless.Spec.Selector, set.Spec.Template.Metadata.Labels), $"{headless.Metadata.Name} selects {set.Metadata.Name}"));
        foreach (var budget in objects.OfType<V1PodDisruptionBudget>())
        {
            Assert.Contains(sets, set => Selects(budget.Spec.Selector.MatchLabels, set.Spec.Template.Metadata.Labels));
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Config_map_names_groups_proxies_and_roles_that_the_topology_has(string dir)
    {
        var objects = Render(dir);
        var map = objects.OfType<V1ConfigMap>().Single(m => m.Metadata.Name.StartsWith("actorvpn-config", StringComparison.Ordinal));
        var topology = TopologyLoader.LoadText(map.Data["topology.hocon"], "k8s topology.hocon");
        var sets = Nodes(objects).ToList();
        foreach (var set in sets)
        {
            var container = set.Spec.Template.Spec.Containers.Single(c => c.Name == "avpn");
            var file = container.Args[^1];
            Assert.StartsWith("/etc/actorvpn/", file);
            Assert.Equal("/etc/actorvpn", container.VolumeMounts.Single().MountPath);
            var options = NodeOptions.FromConfig(ConfigurationFactory.ParseString(map.Data[Path.GetFileName(file)]).WithFallback(ConfigurationFactory.ParseString(HoconLayers.Text("cluster"))));
            options.Validate(topology);
            Assert.Equal("/etc/actorvpn/topology.hocon", options.TopologyFile);

            var roles = options.Roles([]);
            var component = set.Spec.Template.Metadata.Labels["app.kubernetes.io/component"];
            Assert.Contains(component, roles); // the label the PDB/Services select is the node's cluster role
            foreach (var proxy in options.Proxies.Select(topology.Proxy))
            {
                var port = container.Ports.Single(p => p.Name == proxy.Name);
                Assert.Equal(proxy.Listen.Port, port.ContainerPort);
                var service = objects.OfType<V1Service>().Single(s => s.Metadata.Name == proxy.Name);
                Assert.Equal(proxy.Listen.Port, service.Spec.Ports.Single().Port);
                Assert.Equal(proxy.Name, service.Spec.Ports.Single().TargetPort.Value);
                Assert.True(Selects(service.Spec.Selector, set.Spec.Template.Metadata.Labels));
            }
        }

        // every proxy of the topology has a Service and a node; every group a node that may host it
        Assert.All(topology.Proxies, p => Assert.Contains(objects.OfType<V1Service>(), s => s.Metadata.Name == p.Name));
        var hosted = sets.SelectMany(s => NodeOptions.FromConfig(ConfigurationFactory.ParseString(map.Data[Path.GetFileName(s.Spec.Template.Spec.Containers[0].Args[^1])])
            .WithFallback(ConfigurationFactory.ParseString(HoconLayers.Text("cluster")))).Groups).ToHashSet();
        Assert.All(topology.Roots, r => Assert.Contains(r.Name, hosted));
    }

    private static IEnumerable<V1StatefulSet> Nodes(IEnumerable<object> objects) =>
        objects.OfType<V1StatefulSet>().Where(s => s.Spec.Template.Spec.Containers.Any(c => c.Name == "avpn"));

    private static string? Env(V1Container container, string name) => container.Env.SingleOrDefault(e => e.Name == name)?.Value;

    private static bool Selects(IDictionary<string, string> selector, IDictionary<string, string> labels) =>
        selector.All(kv => labels.TryGetValue(kv.Key, out var value) && value == kv.Value);

    private static List<object> Render(string dir)
    {
        var kubectl = new[] { "/usr/local/bin/kubectl", "/usr/bin/kubectl" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("kubectl is not installed: these tests render k8s/ with `kubectl kustomize` (preinstalled on CI)");
        var start = new ProcessStartInfo(kubectl, ["kustomize", Path.Combine(Root, dir)]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl kustomize {dir} did not finish in 60 s");
        }

        Assert.True(process.ExitCode == 0, $"kubectl kustomize {dir} failed: {error.Result}");
        return KubernetesYaml.LoadAllFromString(output.Result, strict: true);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ActorVpn.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("ActorVpn.sln not found above the test binaries");
    }
}
