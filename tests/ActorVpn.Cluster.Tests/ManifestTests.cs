using System.Net;
using ActorVpn.Hosting;
using ActorVpn.Testing;
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
    internal static readonly string Root = FindRoot();

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
        Assert.DoesNotContain(objects, o => o is V1Role or V1RoleBinding); // nothing calls the Kubernetes API
        Assert.Contains(objects, o => o is V1NetworkPolicy);
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
        // POD_NAME is read by ClusterNode (the public hostname) and referenced as $(POD_NAME).
        var known = EnvironmentOverrides.Keys.Keys.Concat(EnvironmentOverrides.ListKeys.Keys).Concat(EnvironmentOverrides.MapKeys.Keys).Append("POD_NAME").ToHashSet(StringComparer.Ordinal);
        foreach (var set in Nodes(Render(dir)))
        {
            var pod = set.Spec.Template.Spec;
            foreach (var container in pod.Containers.Concat(pod.InitContainers ?? []))
            {
                var declared = new HashSet<string>(StringComparer.Ordinal);
                foreach (var variable in container.Env ?? [])
                {
                    Assert.True(known.Contains(variable.Name), $"{set.Metadata.Name}/{container.Name}: {variable.Name} is read by no code (EnvironmentOverrides)");
                    Assert.True(declared.Add(variable.Name), $"{set.Metadata.Name}/{container.Name}: {variable.Name} is set twice");
                    // Kubernetes expands $(VAR) only for variables declared before; any other stays verbatim.
                    foreach (System.Text.RegularExpressions.Match reference in System.Text.RegularExpressions.Regex.Matches(variable.Value ?? string.Empty, @"\$\(([A-Za-z_][A-Za-z0-9_]*)\)"))
                    {
                        Assert.True(declared.Contains(reference.Groups[1].Value), $"{set.Metadata.Name}: {variable.Name} uses $({reference.Groups[1].Value}) before it is declared");
                    }
                }

                // what is secret comes from a Secret, never a literal
                foreach (var variable in (container.Env ?? []).Where(e => SecretVariables.Contains(e.Name)))
                {
                    Assert.True(string.IsNullOrEmpty(variable.Value) && variable.ValueFrom?.SecretKeyRef is not null, $"{set.Metadata.Name}: {variable.Name} must come from a secretKeyRef");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Remote_tls_is_on_with_each_pods_own_certificate_and_the_cluster_CA_from_its_tiers_secret(string dir)
    {
        var objects = Render(dir);
        var readme = File.ReadAllText(Path.Combine(Root, "k8s", "README.md"));
        var secrets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var set in Nodes(objects))
        {
            var pod = set.Spec.Template.Spec;
            var container = pod.Containers.Single(c => c.Name == "avpn");
            var config = NodeConfig(objects, container);
            Assert.True(RemoteTls.Enabled(config), $"{set.Metadata.Name}: AVPN_REMOTE_TLS must turn Akka.Remote TLS on");
            Assert.False(config.GetBoolean($"{RemoteTls.Section}.ssl.suppress-validation"), $"{set.Metadata.Name}: TLS without validation");
            RemoteTls.RequireOnNetwork(config); // binds 0.0.0.0: would refuse to start without TLS

            // the certificate: the file named after the pod, from a Secret volume, read-only; nothing else of it in the container
            var path = config.GetString($"{RemoteTls.Section}.ssl.certificate.path");
            Assert.Equal(path, Env(container, "AVPN_REMOTE_TLS_CERTIFICATE"));
            var mount = container.VolumeMounts.Single(m => m.MountPath == path);
            Assert.Equal("$(POD_NAME).pfx", mount.SubPathExpr);
            Assert.True(mount.ReadOnlyProperty, $"{set.Metadata.Name}: the certificate must be mounted read-only");
            var volume = pod.Volumes.Single(v => v.Name == mount.Name);
            Assert.True(volume.Secret is { Optional: not true, Items: null or { Count: 0 } }, $"{set.Metadata.Name}: {path} must come from a required Secret volume");
            Assert.All(container.VolumeMounts.Where(m => m.Name == mount.Name), m => Assert.False(string.IsNullOrEmpty(m.SubPath) && string.IsNullOrEmpty(m.SubPathExpr),
                $"{set.Metadata.Name}: the whole Secret {volume.Secret.SecretName} (every pod's key) is mounted at {m.MountPath}"));
            Assert.EndsWith($"-{set.Spec.Template.Metadata.Labels["app.kubernetes.io/component"]}", volume.Secret.SecretName); // one Secret per tier
            secrets.Add(volume.Secret.SecretName);

            // the cluster CA: a key of the same Secret
            var ca = config.GetString(RemoteTls.CaKey);
            Assert.Equal(ca, Env(container, "AVPN_REMOTE_TLS_CA"));
            Assert.Equal("ca.crt", container.VolumeMounts.Single(m => m.MountPath == ca && m.Name == mount.Name).SubPath);

            // the password: a key of the same Secret, never a literal
            var password = container.Env.Single(e => e.Name == "AVPN_REMOTE_TLS_PASSWORD");
            var reference = password.ValueFrom?.SecretKeyRef;
            Assert.True(string.IsNullOrEmpty(password.Value) && reference is not null, $"{set.Metadata.Name}: AVPN_REMOTE_TLS_PASSWORD must come from a secretKeyRef");
            Assert.Equal(volume.Secret.SecretName, reference!.Name);
            Assert.True(reference.Optional is not true, $"{set.Metadata.Name}: the TLS password is required");

            // k8s/README.md says how to create exactly that Secret, with a certificate per pod
            Assert.Contains($"create secret generic {volume.Secret.SecretName}", readme, StringComparison.Ordinal);
            Assert.Contains($"--from-literal={reference.Key}=", readme, StringComparison.Ordinal);
        }

        Assert.Equal(2, secrets.Count); // auth and proxy pods never share key material
        Assert.Contains("--from-file=ca.crt=", readme, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Pods_meet_pod_security_restricted_without_a_token_and_each_tier_admits_only_what_it_needs(string dir)
    {
        var objects = Render(dir);
        var ns = objects.OfType<V1Namespace>().Single();
        Assert.Equal("restricted", ns.Metadata.Labels["pod-security.kubernetes.io/enforce"]);
        Assert.False(objects.OfType<V1ServiceAccount>().Single().AutomountServiceAccountToken);
        foreach (var set in objects.OfType<V1StatefulSet>())
        {
            var pod = set.Spec.Template.Spec;
            var labels = set.Spec.Template.Metadata.Labels;
            Assert.Equal("actorvpn", labels["app.kubernetes.io/part-of"]);
            Assert.True(labels.ContainsKey("app.kubernetes.io/name") && labels.ContainsKey("app.kubernetes.io/component"), $"{set.Metadata.Name}: app.kubernetes.io/* labels");
            Assert.False(pod.AutomountServiceAccountToken, $"{set.Metadata.Name}: a service-account token nothing uses");
            Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
            Assert.True(pod.SecurityContext.RunAsNonRoot);
            Assert.All(pod.Containers, c => Assert.True(c.SecurityContext is { AllowPrivilegeEscalation: false } && c.SecurityContext.Capabilities.Drop.Contains("ALL"),
                $"{set.Metadata.Name}/{c.Name}: no privilege escalation, no capabilities"));
        }

        foreach (var budget in objects.OfType<V1PodDisruptionBudget>())
        {
            Assert.Equal("AlwaysAllow", budget.Spec.UnhealthyPodEvictionPolicy);
        }

        // Ingress: denied by default; 4053 from the nodes; the entry proxy from anywhere, the others from the proxies.
        var policies = objects.OfType<V1NetworkPolicy>().ToList();
        Assert.Contains(policies, p => p.Spec.PodSelector.MatchLabels is null or { Count: 0 } && p.Spec.Ingress is null or { Count: 0 } && p.Spec.PolicyTypes.Contains("Ingress"));
        var remote = policies.Single(p => p.Spec.Ingress?.Any(i => i.Ports.Any(port => port.Port.Value == "remote")) == true);
        Assert.Equal("actorvpn", remote.Spec.Ingress.Single().FromProperty.Single().PodSelector.MatchLabels["app.kubernetes.io/name"]);
        var proxies = policies.Single(p => p.Spec.Ingress?.Any(i => i.Ports.Any(port => port.Port.Value == "proxy1")) == true);
        Assert.Null(proxies.Spec.Ingress.Single(i => i.Ports.Any(port => port.Port.Value == "proxy1")).FromProperty);
        Assert.NotNull(proxies.Spec.Ingress.Single(i => i.Ports.Any(port => port.Port.Value == "proxy2")).FromProperty);
        if (objects.OfType<V1StatefulSet>().Any(s => s.Metadata.Name == "actorvpn-postgres"))
        {
            var store = policies.Single(p => p.Spec.PodSelector.MatchLabels is { } m && m.TryGetValue("app.kubernetes.io/name", out var n) && n == "actorvpn-postgres");
            Assert.Equal("actorvpn", store.Spec.Ingress.Single().FromProperty.Single().PodSelector.MatchLabels["app.kubernetes.io/name"]);
        }
    }

    [Theory]
    [InlineData("k8s/overlays/dev", "NodePort")]
    [InlineData("k8s/overlays/prod", "LoadBalancer")]
    public void The_entry_proxy_is_reachable_from_outside_and_the_image_is_the_one_the_README_builds(string dir, string type)
    {
        var objects = Render(dir);
        var entry = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "proxy1");
        Assert.Equal(type, entry.Spec.Type);

        // Every node writes profiles naming proxy1 at the Service's outside port (NodePort's node port, LoadBalancer's port).
        var outside = type == "NodePort" ? entry.Spec.Ports.Single().NodePort : entry.Spec.Ports.Single().Port;
        var maps = objects.OfType<V1ConfigMap>().ToDictionary(m => m.Metadata.Name, StringComparer.Ordinal);
        Assert.All(Nodes(objects), set =>
        {
            var reference = set.Spec.Template.Spec.Containers.Single(c => c.Name == "avpn").Env.Single(e => e.Name == "AVPN_PROXY_ADVERTISE").ValueFrom.ConfigMapKeyRef;
            var options = NodeOptions.FromConfig(EnvironmentOverrides.FromEnvironment(name => name == "AVPN_PROXY_ADVERTISE" ? maps[reference.Name].Data[reference.Key] : null)
                .WithFallback(ConfigurationFactory.ParseString(HoconLayers.Text("cluster"))));
            Assert.Equal(outside, HostPort.Parse(options.ProxyAdvertise["proxy1"]).Port);
        });
        var built = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(Root, "k8s", "README.md")), @"docker build .* -t (\S+) ").Groups[1].Value;
        Assert.All(Nodes(objects), set => Assert.Equal(built, set.Spec.Template.Spec.Containers.Single(c => c.Name == "avpn").Image));

        // proxy pods journal their session audit to the shared store
        var proxy = Nodes(objects).Single(s => s.Metadata.Name == "actorvpn-proxy").Spec.Template.Spec.Containers.Single(c => c.Name == "avpn");
        Assert.Equal("actorvpn-postgres", proxy.Env.Single(e => e.Name == "AVPN_POSTGRES").ValueFrom.SecretKeyRef.Name);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Console_runs_in_the_pod_with_its_files_on_a_writable_persistent_volume(string dir)
    {
        var objects = Render(dir);
        foreach (var set in Nodes(objects))
        {
            var pod = set.Spec.Template.Spec;
            var container = pod.Containers.Single(c => c.Name == "avpn");
            var config = NodeConfig(objects, container);
            Assert.True(container.SecurityContext.ReadOnlyRootFilesystem, $"{set.Metadata.Name}: the root file system stays read-only");

            // where `avpn node` keeps admin.avpn and the console authority: --data, else AVPN_CONSOLE_DATA_DIRECTORY / hocon
            var data = Argument(container, "--data") ?? config.GetString("actorvpn.console.data-directory");
            Assert.True(Path.IsPathRooted(data), $"{set.Metadata.Name}: data directory {data} is relative to the image's read-only working directory");
            var (mount, _) = MountOf(set, container, data);
            Assert.True(mount.ReadOnlyProperty is not true, $"{set.Metadata.Name}: {data} is mounted read-only");
            Assert.True(!pod.Volumes.Any(v => v.Name == mount.Name), $"{set.Metadata.Name}: {data} is on the pod volume {mount.Name}, which dies with the pod");
            var claim = set.Spec.VolumeClaimTemplates?.SingleOrDefault(t => t.Metadata.Name == mount.Name);
            Assert.True(claim is not null, $"{set.Metadata.Name}: {data} must be on a volumeClaimTemplate, so the console authority and admin.avpn survive a restart");
            Assert.Contains("ReadWriteOnce", claim!.Spec.AccessModes);
            Assert.True(claim.Spec.Resources.Requests.ContainsKey("storage"), $"{set.Metadata.Name}: claim {claim.Metadata.Name} requests no storage");

            // the console is on: on loopback (kubectl exec / port-forward reach it), or on a declared port
            var endpoint = Argument(container, "--console") ?? config.GetString("actorvpn.console.endpoint");
            Assert.NotEqual("off", endpoint);
            Assert.True(IPEndPoint.TryParse(endpoint, out var at) && at.Port > 0, $"{set.Metadata.Name}: console endpoint {endpoint} is not IP:PORT");
            Assert.True(IPAddress.IsLoopback(at.Address) || container.Ports.Any(p => p.ContainerPort == at.Port), $"{set.Metadata.Name}: console on {endpoint} but no container port {at.Port}");
            Assert.DoesNotContain(container.Ports, p => p.ContainerPort == at.Port && p.Name != "console"); // no clash with another port of the pod

            // .NET's temporary files under the read-only root
            var tmp = container.VolumeMounts.SingleOrDefault(m => m.MountPath == "/tmp");
            Assert.True(tmp is not null && tmp.ReadOnlyProperty is not true, $"{set.Metadata.Name}: /tmp must be a writable volume");
            Assert.NotNull(pod.Volumes.Single(v => v.Name == tmp!.Name).EmptyDir);
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
            var config = container.VolumeMounts.Single(m => m.MountPath == "/etc/actorvpn");
            Assert.True(config.ReadOnlyProperty);
            Assert.Equal(map.Metadata.Name, set.Spec.Template.Spec.Volumes.Single(v => v.Name == config.Name).ConfigMap.Name);
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

    /// <summary>Variables that hold secrets: only ever from a secretKeyRef.</summary>
    private static readonly HashSet<string> SecretVariables = new(StringComparer.Ordinal) { "AVPN_POSTGRES", "AVPN_KEY_SECRET", "AVPN_REMOTE_TLS_PASSWORD" };

    /// <summary>
    /// The configuration `avpn node` builds in this container (the layers of <see cref="HoconLayers.Load"/>):
    /// its plain environment variables over its --config file from the ConfigMap, over hocon/.
    /// Variables from Secrets or fields are left out (their values are not in the manifests).
    /// </summary>
    private static Config NodeConfig(IEnumerable<object> objects, V1Container container)
    {
        var map = objects.OfType<V1ConfigMap>().Single(m => m.Metadata.Name.StartsWith("actorvpn-config", StringComparison.Ordinal));
        var layers = new[] { "console", "remote", "cluster" }.Select(l => ConfigurationFactory.ParseString(HoconLayers.Text(l)));
        return EnvironmentOverrides.FromEnvironment(name => Env(container, name))
            .WithFallback(ConfigurationFactory.ParseString(map.Data[Path.GetFileName(Argument(container, "--config")!)]))
            .WithFallback(layers.Aggregate((higher, lower) => higher.WithFallback(lower)));
    }

    /// <summary>The value of <paramref name="option"/> in the container's args (<c>--data DIR</c> or <c>--data=DIR</c>), or null.</summary>
    private static string? Argument(V1Container container, string option)
    {
        var args = container.Args ?? [];
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == option && i + 1 < args.Count)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith(option + "=", StringComparison.Ordinal))
            {
                return args[i][(option.Length + 1)..];
            }
        }

        return null;
    }

    /// <summary>The volume mount that holds <paramref name="path"/> (the deepest), and the path inside it.</summary>
    private static (V1VolumeMount Mount, string Relative) MountOf(V1StatefulSet set, V1Container container, string path)
    {
        var mount = (container.VolumeMounts ?? [])
            .Where(m => path == m.MountPath || path.StartsWith(m.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal))
            .MaxBy(m => m.MountPath.Length);
        Assert.True(mount is not null, $"{set.Metadata.Name}: {path} is on no mounted volume, so on the read-only root file system");
        Assert.True(string.IsNullOrEmpty(mount!.SubPath), $"{set.Metadata.Name}: {path} is under a subPath mount ({mount.Name}), which never sees a Secret's updates");
        return (mount, path.Length == mount.MountPath.Length ? string.Empty : path[(mount.MountPath.TrimEnd('/').Length + 1)..]);
    }

    private static bool Selects(IDictionary<string, string> selector, IDictionary<string, string> labels) =>
        selector.All(kv => labels.TryGetValue(kv.Key, out var value) && value == kv.Value);

    private static List<object> Render(string dir)
    {
        var objects = KustomizedPods.Render(Path.Combine(Root, dir)).ToList();
        Assert.NotEmpty(objects);
        return objects;
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
