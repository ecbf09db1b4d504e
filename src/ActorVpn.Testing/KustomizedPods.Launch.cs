using System.Diagnostics;
using System.Text;
using ActorVpn.Testing.Netns;

namespace ActorVpn.Testing;

public static partial class KustomizedPods
{
    /// <summary>
    /// How to start <paramref name="pod"/>'s container on this machine as its kubelet would, as far as a
    /// process can: the built <c>avpn</c> with the pod's arguments and environment, inside host
    /// <paramref name="host"/>'s network namespace of <paramref name="lab"/> (its own address, its own
    /// ports), and in a mount namespace of its own where the pod's ConfigMap and Secret files sit at
    /// their mount paths, <c>/etc/hosts</c> is <paramref name="hosts"/> (what cluster DNS answers for the
    /// pod, Service and destination names) and the pod's other volumes are empty writable directories.
    /// The files are laid out under <paramref name="root"/> and shown over the machine's own
    /// directories with overlay mounts (nothing outside <paramref name="root"/> is written). What a
    /// kubelet does beyond that (read-only root, securityContext, probes, limits) is not done.
    /// </summary>
    public static ProcessStartInfo StartInfo(RenderedPod pod, NetnsLab lab, int host, string root, string hosts)
    {
        var files = new Dictionary<string, byte[]>(pod.Files, StringComparer.Ordinal) { ["/etc/hosts"] = Encoding.UTF8.GetBytes(hosts) };

        // Each file or directory is shown through an overlay on the nearest directory of the machine
        // that exists (/etc for /etc/actorvpn/auth.hocon, /var/lib for /var/lib/actorvpn).
        var overlays = files.Keys.Select(f => ExistingAncestor(Path.GetDirectoryName(f)!))
            .Concat(pod.Directories.Select(d => ExistingAncestor(d)))
            .Where(d => d != "/tmp") // an emptyDir at /tmp: the machine's own /tmp serves
            .Distinct(StringComparer.Ordinal)
            .ToList();
        foreach (var (path, bytes) in files)
        {
            var at = Path.Combine(root, "lower" + path);
            Directory.CreateDirectory(Path.GetDirectoryName(at)!);
            File.WriteAllBytes(at, bytes);
        }

        foreach (var directory in pod.Directories.Where(d => d != "/tmp"))
        {
            Directory.CreateDirectory(Path.Combine(root, "upper" + directory));
        }

        var script = new StringBuilder("set -e\n");
        foreach (var target in overlays)
        {
            var (lower, upper, work) = (Path.Combine(root, "lower" + target), Path.Combine(root, "upper" + target), Path.Combine(root, "work" + target));
            Directory.CreateDirectory(lower);
            Directory.CreateDirectory(upper);
            Directory.CreateDirectory(work);
            script.Append($"mount -t overlay overlay -o 'lowerdir={lower}:{target},upperdir={upper},workdir={work}' '{target}'\n");
        }

        script.Append("exec \"$@\"\n");

        var avpn = AvpnBinary.StartInfo(pod.Args);
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "netns", "exec", lab.NamespaceOf(host), "sh", "-c", script.ToString(), pod.Name, avpn.FileName }.Concat(avpn.ArgumentList))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Clear();
        foreach (var (key, value) in avpn.Environment)
        {
            start.Environment[key] = value;
        }

        foreach (var (key, value) in pod.Environment)
        {
            start.Environment[key] = value;
        }

        return start;
    }

    /// <summary>
    /// Why pods cannot be launched here (network namespaces not allowed, or no overlay mount inside a
    /// mount namespace of their own), or null when they can: a test skips with this reason.
    /// </summary>
    public static string? WhyCannotLaunch()
    {
        if (NetnsLab.WhyNotAvailable() is { } why)
        {
            return why;
        }

        var probe = Directory.CreateTempSubdirectory("avpn-overlay-probe-").FullName;
        try
        {
            foreach (var layer in new[] { "lower", "upper", "work", "shown" })
            {
                Directory.CreateDirectory(Path.Combine(probe, layer));
            }

            // unshare -m: the mount is made and dropped in a mount namespace of its own, as a pod's are.
            var start = new ProcessStartInfo("unshare", ["-m", "sh", "-c",
                $"mount -t overlay overlay -o 'lowerdir={probe}/lower,upperdir={probe}/upper,workdir={probe}/work' '{probe}/shown'"])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill(entireProcessTree: true);
                return "an overlay mount in a mount namespace of its own did not finish in 30 s";
            }

            return process.ExitCode == 0 ? null : $"an overlay mount in a mount namespace of its own is not allowed here (a pod's files are shown at their mount paths that way): {error.Result.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"`unshare` cannot be run here: {e.Message}";
        }
        finally
        {
            Directory.Delete(probe, recursive: true);
        }
    }

    /// <summary>Where on the machine <paramref name="path"/> (or its file) would be written: the upper layer of its overlay.</summary>
    public static string WrittenPath(string root, string path) => Path.Combine(root, "upper" + path);

    private static string ExistingAncestor(string path)
    {
        var at = path;
        while (!Directory.Exists(at))
        {
            at = Path.GetDirectoryName(at) ?? "/";
        }

        return at;
    }
}
