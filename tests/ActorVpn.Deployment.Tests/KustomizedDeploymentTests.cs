using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ActorVpn.Client;
using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.Proxies;
using ActorVpn.Testing;
using ActorVpn.Testing.Netns;
using ActorVpn.Topology;
using Akka.Actor;
using k8s.Models;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.Deployment.Tests;

/// <summary>
/// The dev overlay as it ships: every pod of <c>kubectl kustomize k8s/overlays/dev</c> runs as a built
/// <c>avpn node</c> process with exactly its rendered arguments, environment (POD_NAME, ConfigMap keys,
/// Secrets the test generates: the store's connection string, the key secret, each pod's own remote
/// TLS certificate from a cluster CA) and mounted files, each in a network namespace of its own with
/// its own 198.18.x.y address, so every pod binds the same ports it does in Kubernetes. What cluster
/// DNS would answer comes from a private hosts file per pod: the pods' names behind the headless
/// Service, the in-cluster PostgreSQL's name (forwarded to the test's server) and the topology's
/// destination (an echo server on the test's own address). The entry proxy's NodePort is a forwarder
/// on this machine's port the overlay advertises, as kube-proxy forwards a node port to the pod.
/// </summary>
public sealed class KustomizedDeploymentTests(ITestOutputHelper output)
{
    private const string Overlay = "k8s/overlays/dev";

    [SkippableFact]
    public async Task The_dev_overlays_pods_become_ready_and_a_topology_user_connects_through_the_chain_with_the_profile_a_pod_wrote()
    {
        Skip.If(KustomizedPods.Kubectl is null, "kubectl is not installed: the pods' configuration comes from `kubectl kustomize k8s/overlays/dev` (offline)");
        var why = KustomizedPods.WhyCannotLaunch();
        Skip.If(why is not null, why);
        var database = await ScenarioStores.PostgresDatabaseAsync();
        Skip.If(database is null, "no PostgreSQL: AVPN_TEST_POSTGRES is not set (scripts/test.sh starts a private server; it could not be started here)");

        var root = Directory.CreateTempSubdirectory("avpn-kustomized-").FullName;
        var kustomization = Path.Combine(FindRoot(), Overlay);
        var sets = KustomizedPods.Render(kustomization).OfType<V1StatefulSet>()
            .Where(s => s.Spec.Template.Spec.Containers.Any(c => c.Name == "avpn"))
            .ToList();
        var names = sets.SelectMany(s => Enumerable.Range(0, s.Spec.Replicas ?? 1).Select(i => $"{s.Metadata.Name}-{i}")).ToList();

        using var lab = NetnsLab.Create(names.Count);
        using var certificates = new ClusterCertificates(root);
        var processes = new List<AvpnProcess>();
        await using var store = new TcpForwarder(new IPEndPoint(IPAddress.Parse(lab.HostAddress), 5432), await TestServerAsync());
        var client = ActorSystem.Create("kustomized-client", "akka.loglevel = WARNING");
        var pods = new List<RenderedPod>();
        try
        {
            pods = KustomizedPods.Pods(kustomization, Secrets(certificates, sets, database!))
                .Where(p => names.Contains(p.Name, StringComparer.Ordinal))
                .OrderBy(p => names.IndexOf(p.Name))
                .ToList();

            // The topology's destination, as the exit proxy's pod resolves it, is the echo server on the test's own address.
            var proxyPod = pods.Single(p => p.Args.Any(a => a.EndsWith("/proxy.hocon", StringComparison.Ordinal)));
            var topology = TopologyLoader.LoadText(Encoding.UTF8.GetString(proxyPod.Files["/etc/actorvpn/topology.hocon"]), "the ConfigMap's topology.hocon");
            var destination = topology.Destinations["server"];
            await using var echo = new EchoServer(new HostPort(lab.HostAddress, destination.Port));

            // Cluster DNS for every pod: <pod>.<headless service>, the store's Service, the destination.
            var hosts = new StringBuilder("127.0.0.1 localhost\n");
            for (var i = 0; i < pods.Count; i++)
            {
                hosts.Append($"{lab.AddressOf(i + 1)} {pods[i].Name}.{pods[i].Service}\n");
            }

            hosts.Append($"{lab.HostAddress} actorvpn-postgres {destination.Host}\n");

            // The first auth pod creates the store's tables before the others start: several processes
            // creating them at once on a fresh database block each other past the journal's recovery timeout.
            var clock = Stopwatch.StartNew();
            processes.Add(Launch(pods[0], lab, 1, root, hosts.ToString()));
            await Eventually.TrueAsync(() => TablesExistAsync(database!), DeployedCluster.Generous, $"{pods[0].Name} never created the journal's tables");
            for (var i = 1; i < pods.Count; i++)
            {
                processes.Add(Launch(pods[i], lab, i + 1, root, hosts.ToString()));
            }

            // Ready as the kubelet's readiness probe sees it: /healthz/ready on the pod's address and health port.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            for (var i = 0; i < pods.Count; i++)
            {
                var ready = new Uri($"http://{lab.AddressOf(i + 1)}:{pods[i].Environment["AVPN_HEALTH_PORT"]}/healthz/ready");
                await Eventually.TrueAsync(() => AnswersOkAsync(http, ready), DeployedCluster.Generous, $"{pods[i].Name} never became ready at {ready}");
            }

            output.WriteLine($"{pods.Count} pods of {Overlay} ready {clock.Elapsed.TotalSeconds:0.0} s after the first started");

            // The auth pod hosting alice's home group (as1) registered her at start and wrote her profile on
            // its data volume, naming proxy1 at the address the overlay advertises for it (the NodePort),
            // not at the pod. The proxy pod may not register users: the auth servers refuse it that.
            var profilePath = $"{proxyPod.Environment["AVPN_CONSOLE_DATA_DIRECTORY"]}/profiles/alice.avpn";
            string? written = null;
            await Eventually.TrueAsync(() => Task.FromResult((written = pods.Select(p => KustomizedPods.WrittenPath(Path.Combine(root, p.Name), profilePath)).FirstOrDefault(File.Exists)) is not null),
                DeployedCluster.Generous, "no pod wrote alice's profile");
            var writer = pods.Single(p => written!.StartsWith(Path.Combine(root, p.Name) + "/", StringComparison.Ordinal));
            Assert.True(writer.StatefulSet == "actorvpn-auth", $"{writer.Name} wrote alice's profile, not an auth pod");
            output.WriteLine($"{writer.Name} registered alice and wrote {profilePath}");
            var alice = ClientProfile.Load(written!);
            var advertised = proxyPod.Environment["AVPN_PROXY_ADVERTISE"].Split('=', 2)[1];
            Assert.Equal(advertised, alice.Entries["server"].Address);

            // kube-proxy's part: the node port on this machine forwards to proxy1's port on the proxy pod.
            var nodePort = HostPort.Parse(advertised);
            var proxy1 = topology.Proxy("proxy1").Listen;
            await using var service = new TcpForwarder(new IPEndPoint(IPAddress.Loopback, nodePort.Port),
                new IPEndPoint(IPAddress.Parse(lab.AddressOf(pods.IndexOf(proxyPod) + 1)), proxy1.Port));

            // Fig. 5 through the chain: proxy1, proxy2, proxy3 on the proxy pod, the hand-off across the auth
            // pods' groups. The credential keeper may still be handing out the inter-server credentials
            // (every bootstrap-interval): a session is tried again until one carries data, within a bound.
            var listen = HostPort.Parse(await VpnNode.StartClientAsync(client, alice, "server", new IPEndPoint(IPAddress.Loopback, 0), DataPlaneSettings.Default));
            async Task<bool> SessionWorksAsync()
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(IPAddress.Parse(listen.Host), listen.Port);
                }
                catch (SocketException)
                {
                    // The client refuses a local connection at once (a reset) while its entry proxy is down: the
                    // connect itself can report it when the reset comes before the connect's completion is read.
                    return false;
                }

                return await DeployedCluster.EchoesAsync(socket, TimeSpan.FromSeconds(15));
            }

            await Eventually.TrueAsync(SessionWorksAsync, DeployedCluster.Generous, "alice's sessions through the dev overlay's pods carried no data");
            output.WriteLine($"a session through the chain carried data {clock.Elapsed.TotalSeconds:0.0} s after the first pod started");
            Assert.True(echo.Connections > 0, "the session did not reach the topology's destination");

            // The proxy tier is a single writer per proxy name (its auth server pins one enrolled key), so a
            // lost proxy pod is replaced, not failed over: kill -9 and start the same pod again, with its
            // data volume kept, as the StatefulSet controller does. The time until alice's profile works
            // again is what this machine can measure of a reschedule; a kubelet's scheduling, image pull
            // and probe periods come on top.
            var at = pods.IndexOf(proxyPod);
            processes[at].Crash();
            await processes[at].WaitForExitAsync(DeployedCluster.Generous);
            var rescheduled = Stopwatch.StartNew();
            processes[at].Dispose();
            processes[at] = Launch(proxyPod, lab, at + 1, root, hosts.ToString());

            // The kubelet restarts a container that exits (restartPolicy: Always): a new incarnation that cannot
            // join gives up after shutdown-after-unsuccessful-join-seed-nodes and is started again, as in a pod.
            async Task<bool> ServesAgainAsync()
            {
                if (processes[at].HasExited)
                {
                    output.WriteLine($"the replaced proxy pod exited ({processes[at].Stderr.Split('\n').LastOrDefault()}); restarted as the kubelet would");
                    processes[at].Dispose();
                    processes[at] = Launch(proxyPod, lab, at + 1, root, hosts.ToString());
                }

                return await SessionWorksAsync();
            }

            await Eventually.TrueAsync(ServesAgainAsync, ReplacedPodBound, "alice's sessions never worked again after the proxy pod was replaced");
            output.WriteLine($"proxy pod replaced after kill -9: alice's profile works again {rescheduled.Elapsed.TotalSeconds:0.0} s after the new process started");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n{Diagnostics(pods, processes)}", e);
        }
        finally
        {
            // One after another, newest first: stopping all at once makes the cluster-exiting phase time out.
            foreach (var process in Enumerable.Reverse(processes))
            {
                process.Dispose();
            }

            await client.Terminate();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // a file still held by an exiting process: the temp directory is cleaned by the OS
            }
        }
    }

    private static AvpnProcess Launch(RenderedPod pod, NetnsLab lab, int host, string root, string hosts) =>
        AvpnProcess.Start(KustomizedPods.StartInfo(pod, lab, host, Path.Combine(root, pod.Name), hosts));

    /// <summary>
    /// The Secrets an operator creates before applying the overlay (k8s/README.md), generated: the
    /// store's connection string (the in-cluster name actorvpn-postgres, this test's database), the key
    /// secret, and per tier the cluster CA with one certificate per pod.
    /// </summary>
    private static Dictionary<string, IReadOnlyDictionary<string, byte[]>> Secrets(ClusterCertificates certificates, IReadOnlyList<V1StatefulSet> sets, string database)
    {
        var connection = new NpgsqlConnectionStringBuilder(database) { Host = "actorvpn-postgres", Port = 5432 };
        var secrets = new Dictionary<string, IReadOnlyDictionary<string, byte[]>>(StringComparer.Ordinal)
        {
            ["actorvpn-postgres"] = Keys(("connection-string", connection.ConnectionString), ("password", connection.Password ?? string.Empty)),
            ["actorvpn-keys"] = Keys(("key-secret", Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)))),
        };
        const string password = "pod-certificate-password";
        foreach (var set in sets)
        {
            var tls = set.Spec.Template.Spec.Volumes.Single(v => v.Secret is not null).Secret.SecretName;
            var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal)
            {
                ["ca.crt"] = File.ReadAllBytes(certificates.CaPath),
                ["password"] = Encoding.UTF8.GetBytes(password),
            };
            for (var i = 0; i < (set.Spec.Replicas ?? 1); i++)
            {
                var pod = $"{set.Metadata.Name}-{i}";
                keys[$"{pod}.pfx"] = File.ReadAllBytes(certificates.IssueNode(pod, password));
            }

            secrets[tls] = keys;
        }

        return secrets;
    }

    private static IReadOnlyDictionary<string, byte[]> Keys(params (string Key, string Value)[] keys) =>
        keys.ToDictionary(k => k.Key, k => Encoding.UTF8.GetBytes(k.Value), StringComparer.Ordinal);

    /// <summary>The test's PostgreSQL server, which the pods reach through a forwarder on the bridge.</summary>
    private static async Task<IPEndPoint> TestServerAsync()
    {
        var server = new NpgsqlConnectionStringBuilder(ScenarioStores.TestServer);
        var address = IPAddress.TryParse(server.Host, out var ip) ? ip : (await Dns.GetHostAddressesAsync(server.Host!)).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        return new IPEndPoint(address, server.Port);
    }

    private static async Task<bool> TablesExistAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('journal', 'snapshot', 'tags')", connection);
        return await command.ExecuteScalarAsync() is long and 3;
    }

    private static async Task<bool> AnswersOkAsync(HttpClient http, Uri uri)
    {
        try
        {
            using var response = await http.GetAsync(uri);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false; // not listening yet, or not ready
        }
    }

    /// <summary>
    /// A replaced pod's bound: the usual wait, plus one restart of a new incarnation that could not join
    /// (the shipped shutdown-after-unsuccessful-join-seed-nodes).
    /// </summary>
    private static readonly TimeSpan ReplacedPodBound = DeployedCluster.Generous + TimeSpan.FromSeconds(60);

    private static string Diagnostics(IReadOnlyList<RenderedPod> pods, IReadOnlyList<AvpnProcess> processes) =>
        string.Join("\n", processes.Select((p, i) => $"--- {pods[i].Name}{(p.HasExited ? " (exited)" : "")}:\n{p.Excerpt()}"));

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
