using System.Diagnostics;
using System.Security.Cryptography;

namespace ActorVpn.Testing.Netns;

/// <summary>
/// A private network of Linux network namespaces for tests that need a real partition between
/// processes (not Akka's throttler): one namespace per host, each with one address of a /24 in
/// 198.18.0.0/15 (the benchmarking range, never routed) on a veth pair whose other end is on a
/// bridge in the test's own namespace, which holds the <c>.1</c> address (so the test reaches every
/// host). <see cref="Isolate"/> drops the packets between a host and its peers with blackhole routes inside their
/// namespaces; <see cref="Mend"/> lets them flow again. Everything is created here and removed on
/// dispose. Needs root (<c>CAP_NET_ADMIN</c>) and the <c>ip</c> tool: see <see cref="WhyNotAvailable"/>.
/// </summary>
public sealed class NetnsLab : IDisposable
{
    private readonly string _id;
    private readonly int _subnet;
    private readonly List<string> _namespaces = [];
    private bool _bridge;

    private NetnsLab(string id, int subnet)
    {
        _id = id;
        _subnet = subnet;
    }

    /// <summary>The test's own address on the bridge (e.g. for a destination server every host reaches).</summary>
    public string HostAddress => AddressOf(0);

    /// <summary>The hosts made so far, by index from 1 (<c>198.18.S.11</c> is host 1).</summary>
    public int Count => _namespaces.Count;

    /// <summary>Why this machine cannot make namespaces (not root, no <c>ip</c>, not permitted), or null when it can.</summary>
    public static string? WhyNotAvailable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespaces need Linux";
        }

        if (Environment.UserName != "root")
        {
            return $"creating network namespaces needs root (running as {Environment.UserName})";
        }

        var probe = $"avpn-probe-{RandomNumberGenerator.GetHexString(6, lowercase: true)}";
        var (code, error) = Run("ip", "netns", "add", probe);
        if (code != 0)
        {
            return $"`ip netns add` is not allowed here: {error.Trim()}";
        }

        Run("ip", "netns", "del", probe);
        return null;
    }

    /// <summary>Makes the bridge and <paramref name="hosts"/> namespaces, each with its address and loopback up.</summary>
    public static NetnsLab Create(int hosts)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hosts);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hosts, 200);
        var lab = new NetnsLab(RandomNumberGenerator.GetHexString(5, lowercase: true), FreeSubnet());
        try
        {
            lab.Ip("link", "add", lab.Bridge, "type", "bridge");
            lab._bridge = true;
            lab.Ip("addr", "add", $"{lab.HostAddress}/24", "dev", lab.Bridge);
            lab.Ip("link", "set", lab.Bridge, "up");
            for (var i = 1; i <= hosts; i++)
            {
                var ns = $"avpn-{lab._id}-{i}";
                lab.Ip("netns", "add", ns);
                lab._namespaces.Add(ns);
                var (outside, inside) = ($"av{lab._id}h{i}", $"av{lab._id}n{i}");
                lab.Ip("link", "add", outside, "type", "veth", "peer", "name", inside);
                lab.Ip("link", "set", inside, "netns", ns);
                lab.Ip("link", "set", outside, "master", lab.Bridge);
                lab.Ip("link", "set", outside, "up");
                lab.Ip("-n", ns, "addr", "add", $"{lab.AddressOf(i)}/24", "dev", inside);
                lab.Ip("-n", ns, "link", "set", inside, "up");
                lab.Ip("-n", ns, "link", "set", "lo", "up");
            }

            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    /// <summary>The address of host <paramref name="host"/> (from 1); 0 is the test's own, on the bridge.</summary>
    public string AddressOf(int host) => host == 0 ? $"198.18.{_subnet}.1" : $"198.18.{_subnet}.{10 + host}";

    /// <summary>The namespace of host <paramref name="host"/> (from 1).</summary>
    public string NamespaceOf(int host) => _namespaces[host - 1];

    /// <summary>How to start <paramref name="start"/> inside host <paramref name="host"/>'s namespace (<c>ip netns exec</c>), with its environment.</summary>
    public ProcessStartInfo Inside(int host, ProcessStartInfo start)
    {
        var wrapped = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = start.RedirectStandardOutput,
            RedirectStandardError = start.RedirectStandardError,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "netns", "exec", NamespaceOf(host), start.FileName }.Concat(start.ArgumentList))
        {
            wrapped.ArgumentList.Add(arg);
        }

        wrapped.Environment.Clear();
        foreach (var (key, value) in start.Environment)
        {
            wrapped.Environment[key] = value;
        }

        return wrapped;
    }

    /// <summary>
    /// Cuts host <paramref name="host"/> off from every one of <paramref name="peers"/> at once, as one network failure does:
    /// its own routes to all of them go in one <c>ip -batch</c> (so the peers never see it reachable from one and not
    /// another, which the split-brain resolver would take for an indirectly connected node), then theirs back to it.
    /// <see cref="Mend"/> undoes it pair by pair.
    /// </summary>
    public void Isolate(int host, params int[] peers)
    {
        var batch = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(batch, peers.Select(peer => $"route add blackhole {AddressOf(peer)}/32"));
            Ip("-n", NamespaceOf(host), "-batch", batch);
        }
        finally
        {
            File.Delete(batch);
        }

        foreach (var peer in peers)
        {
            Ip("-n", NamespaceOf(peer), "route", "add", "blackhole", $"{AddressOf(host)}/32");
        }
    }

    /// <summary>Lets packets between hosts <paramref name="a"/> and <paramref name="b"/> flow again.</summary>
    public void Mend(int a, int b)
    {
        Ip("-n", NamespaceOf(a), "route", "del", "blackhole", $"{AddressOf(b)}/32");
        Ip("-n", NamespaceOf(b), "route", "del", "blackhole", $"{AddressOf(a)}/32");
    }

    /// <summary>Removes the namespaces (their veth pairs go with them) and the bridge; best effort, never throws.</summary>
    public void Dispose()
    {
        foreach (var ns in _namespaces)
        {
            Run("ip", "netns", "del", ns);
        }

        _namespaces.Clear();
        if (_bridge)
        {
            Run("ip", "link", "del", Bridge);
            _bridge = false;
        }
    }

    private string Bridge => $"avb{_id}";

    /// <summary>A /24 of 198.18.0.0/16 no interface of this machine uses yet (tests of several projects may run at once).</summary>
    private static int FreeSubnet()
    {
        var (_, used) = Run("ip", "-o", "-4", "addr", "show");
        var free = Enumerable.Range(1, 254).Where(s => !used.Contains($"198.18.{s}.", StringComparison.Ordinal)).ToList();
        return free.Count > 0 ? free[RandomNumberGenerator.GetInt32(free.Count)] : throw new InvalidOperationException("no free /24 left in 198.18.0.0/16");
    }

    private void Ip(params string[] args)
    {
        var (code, output) = Run("ip", args);
        if (code != 0)
        {
            throw new InvalidOperationException($"`ip {string.Join(' ', args)}` failed ({code}): {output.Trim()}");
        }
    }

    /// <summary>Runs a command to its end; its exit code and its output (stdout, then stderr).</summary>
    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }
}
