using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace ActorVpn.Testing;

/// <summary>
/// One pod of a rendered kustomization, as the kubelet would start its container: the arguments, the
/// environment (fieldRef <c>metadata.name</c>, ConfigMap and Secret references and <c>$(VAR)</c>
/// expansion filled in) and the files its ConfigMap and Secret volumes put at each mount path.
/// </summary>
public sealed record RenderedPod(string Name, string StatefulSet, IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Environment, IReadOnlyDictionary<string, byte[]> Files)
{
    /// <summary>The StatefulSet's governing (headless) Service: peers resolve the pod as <c>&lt;Name&gt;.&lt;Service&gt;</c>.</summary>
    public string Service { get; init; } = string.Empty;

    /// <summary>Mount paths of the volumes nothing is rendered into (a volumeClaimTemplate's claim, an emptyDir): empty writable directories.</summary>
    public IReadOnlyList<string> Directories { get; init; } = [];
}

/// <summary>
/// The pods that <c>kubectl kustomize k8s/overlays/&lt;x&gt;</c> describes, so a test can launch
/// <c>avpn node</c> with exactly a pod's configuration and the manifests and the tested process cannot
/// drift. Secrets are not in git: the caller supplies their keys (as <c>scripts</c> or an operator
/// would create them). What it cannot do is what only a kubelet does: schedule, resolve pod DNS names,
/// enforce securityContext, probes or NetworkPolicy.
/// </summary>
public static partial class KustomizedPods
{
    /// <summary>The <c>kubectl</c> that renders the manifests, or null where it is not installed (a test then skips, saying so).</summary>
    public static string? Kubectl => new[] { "/usr/local/bin/kubectl", "/usr/bin/kubectl" }.FirstOrDefault(File.Exists);

    /// <summary>The YAML documents <c>kubectl kustomize</c> renders for <paramref name="kustomization"/> (a directory).</summary>
    public static IReadOnlyList<object> Render(string kustomization)
    {
        var kubectl = Kubectl ?? throw new InvalidOperationException("kubectl is not installed: rendering k8s/ needs `kubectl kustomize` (it works offline)");
        var start = new ProcessStartInfo(kubectl, ["kustomize", kustomization]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl kustomize {kustomization} did not finish in 60 s");
        }

        return process.ExitCode == 0
            ? KubernetesYaml.LoadAllFromString(output.Result, strict: true)
            : throw new InvalidOperationException($"kubectl kustomize {kustomization} failed: {error.Result}");
    }

    /// <summary>
    /// Every pod of every StatefulSet of <paramref name="kustomization"/> (pods 0 .. replicas-1), its
    /// <paramref name="container"/> resolved. <paramref name="secrets"/>: secret name → key → value.
    /// </summary>
    public static IReadOnlyList<RenderedPod> Pods(string kustomization, IReadOnlyDictionary<string, IReadOnlyDictionary<string, byte[]>> secrets, string container = "avpn")
    {
        var objects = Render(kustomization);
        var maps = objects.OfType<V1ConfigMap>().ToDictionary(m => m.Metadata.Name, StringComparer.Ordinal);
        var pods = new List<RenderedPod>();
        foreach (var set in objects.OfType<V1StatefulSet>())
        {
            var spec = set.Spec.Template.Spec;
            var main = spec.Containers.SingleOrDefault(c => c.Name == container);
            if (main is null)
            {
                continue;
            }

            for (var i = 0; i < (set.Spec.Replicas ?? 1); i++)
            {
                var name = $"{set.Metadata.Name}-{i}";
                var environment = Environment(main, name, maps, secrets);
                var files = Files(spec, main, environment, maps, secrets);
                var args = (main.Args ?? []).Select(a => Expand(a, environment)).ToList();
                var directories = (main.VolumeMounts ?? [])
                    .Where(m => spec.Volumes.SingleOrDefault(v => v.Name == m.Name) is not { ConfigMap: not null } and not { Secret: not null })
                    .Select(m => m.MountPath)
                    .ToList();
                pods.Add(new RenderedPod(name, set.Metadata.Name, args, environment, files) { Service = set.Spec.ServiceName ?? string.Empty, Directories = directories });
            }
        }

        return pods;
    }

    private static Dictionary<string, string> Environment(V1Container container, string podName, IReadOnlyDictionary<string, V1ConfigMap> maps,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, byte[]>> secrets)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in container.Env ?? [])
        {
            var from = variable.ValueFrom;
            environment[variable.Name] = from switch
            {
                null => Expand(variable.Value ?? string.Empty, environment),
                { FieldRef.FieldPath: "metadata.name" } => podName,
                { FieldRef: { } field } => throw new NotSupportedException($"{variable.Name}: fieldRef {field.FieldPath} is not rendered"),
                { ConfigMapKeyRef: { } key } => maps[key.Name].Data[key.Key],
                { SecretKeyRef: { } key } => Encoding.UTF8.GetString(SecretValue(secrets, key.Name, key.Key, variable.Name)),
                _ => throw new NotSupportedException($"{variable.Name}: this kind of valueFrom is not rendered"),
            };
        }

        return environment;
    }

    private static Dictionary<string, byte[]> Files(V1PodSpec pod, V1Container container, IReadOnlyDictionary<string, string> environment,
        IReadOnlyDictionary<string, V1ConfigMap> maps, IReadOnlyDictionary<string, IReadOnlyDictionary<string, byte[]>> secrets)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var mount in container.VolumeMounts ?? [])
        {
            var volume = pod.Volumes.SingleOrDefault(v => v.Name == mount.Name); // none: a volumeClaimTemplate's claim
            IReadOnlyDictionary<string, byte[]>? content = volume switch
            {
                null => null,
                { ConfigMap: { } map } => maps[map.Name].Data.ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetBytes(kv.Value), StringComparer.Ordinal),
                { Secret: { } secret } => secrets.TryGetValue(secret.SecretName, out var keys)
                    ? keys
                    : throw new KeyNotFoundException($"volume {mount.Name}: Secret {secret.SecretName} was not supplied"),
                _ => null, // emptyDir, PVC: nothing rendered into them
            };
            if (content is null)
            {
                continue;
            }

            var items = volume!.ConfigMap?.Items ?? volume.Secret?.Items;
            var projected = items is { Count: > 0 }
                ? items.ToDictionary(item => item.Path, item => content[item.Key], StringComparer.Ordinal)
                : content.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            var subPath = !string.IsNullOrEmpty(mount.SubPathExpr) ? Expand(mount.SubPathExpr, environment) : mount.SubPath;
            if (!string.IsNullOrEmpty(subPath))
            {
                files[mount.MountPath] = projected.TryGetValue(subPath, out var file)
                    ? file
                    : throw new KeyNotFoundException($"volume {mount.Name}: no key {subPath} for the subPath mount at {mount.MountPath}");
                continue;
            }

            foreach (var (path, bytes) in projected)
            {
                files[$"{mount.MountPath.TrimEnd('/')}/{path}"] = bytes;
            }
        }

        return files;
    }

    private static byte[] SecretValue(IReadOnlyDictionary<string, IReadOnlyDictionary<string, byte[]>> secrets, string secret, string key, string variable) =>
        secrets.TryGetValue(secret, out var keys) && keys.TryGetValue(key, out var value)
            ? value
            : throw new KeyNotFoundException($"{variable}: key {key} of Secret {secret} was not supplied");

    /// <summary>Kubernetes' <c>$(VAR)</c> expansion: variables defined before; <c>$$</c> escapes; unknown ones stay as written.</summary>
    private static string Expand(string value, IReadOnlyDictionary<string, string> environment) =>
        Reference().Replace(value, m => m.Value == "$$" ? "$" : environment.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);

    [GeneratedRegex(@"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex Reference();
}
