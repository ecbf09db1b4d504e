using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ActorVpn.Bench;

/// <summary>Every process the harness starts; their ids go to a file so bench/run.sh's trap can stop them too.</summary>
internal static class Procs
{
    private static readonly List<Process> Started = [];
    private static string? _pidFile;

    public static void Init(string pidFile) => _pidFile = pidFile;

    public static Process Start(string file, IEnumerable<string> args, bool stdio = false)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = stdio,
            RedirectStandardOutput = stdio,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var p = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        p.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrWhiteSpace(e.Data) && Environment.GetEnvironmentVariable("BENCH_VERBOSE") == "1")
            {
                Console.Error.WriteLine($"[{Path.GetFileName(file)} {p.Id}] {e.Data}");
            }
        };
        p.BeginErrorReadLine();
        lock (Started)
        {
            Started.Add(p);
            if (_pidFile is not null)
            {
                File.AppendAllText(_pidFile, p.Id + "\n");
            }
        }

        return p;
    }

    /// <summary>Runs a command to completion (with a timeout) and fails on a non-zero exit.</summary>
    public static void Run(string file, params string[] args)
    {
        using var p = Start(file, args);
        if (!p.WaitForExit(60_000))
        {
            Stop(p);
            throw new InvalidOperationException($"{file} did not finish in 60 s");
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {p.ExitCode}");
        }
    }

    public static void Stop(Process p)
    {
        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    public static void StopAll()
    {
        List<Process> all;
        lock (Started)
        {
            all = [.. Started];
        }

        foreach (var p in all)
        {
            Stop(p);
        }
    }

    public static int FreePort()
    {
        using var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    public static async Task WaitListeningAsync(int port, TimeSpan within)
    {
        var until = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                using var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(50);
            }
        }
    }
}

/// <summary>Private sshd instances on free loopback ports, a generated host key and user key, client config files.</summary>
internal sealed class SshPeers
{
    private readonly string _dir;
    private readonly List<int> _ports = [];
    private readonly List<int> _pids = [];

    public SshPeers(string dir, int instances)
    {
        _dir = Path.Combine(dir, "ssh");
        Directory.CreateDirectory(_dir);
        Directory.CreateDirectory("/run/sshd"); // sshd's privilege-separation directory (exists once openssh-server is installed)
        Procs.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(_dir, "host_key"));
        Procs.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(_dir, "user_key"));
        File.Copy(Path.Combine(_dir, "user_key.pub"), Path.Combine(_dir, "authorized_keys"));
        foreach (var (name, cipher) in new[] { ("default", null), ("gcm", "aes128-gcm@openssh.com") })
        {
            File.WriteAllText(ConfigFile(name),
                $"""
                Host *
                  User root
                  IdentityFile {_dir}/user_key
                  IdentitiesOnly yes
                  StrictHostKeyChecking no
                  UserKnownHostsFile /dev/null
                  GlobalKnownHostsFile /dev/null
                  BatchMode yes
                  LogLevel ERROR
                  ControlMaster no
                  ControlPath none
                {(cipher is null ? string.Empty : "  Ciphers " + cipher)}

                """);
        }

        for (var i = 0; i < instances; i++)
        {
            var port = Procs.FreePort();
            var config = Path.Combine(_dir, $"sshd{i}.conf");
            File.WriteAllText(config,
                $"""
                Port {port}
                ListenAddress 127.0.0.1
                HostKey {_dir}/host_key
                PidFile {_dir}/sshd{i}.pid
                AuthorizedKeysFile {_dir}/authorized_keys
                UsePAM no
                StrictModes no
                PermitRootLogin yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                AllowTcpForwarding yes
                MaxStartups 400
                MaxSessions 100
                LogLevel ERROR

                """);
            _pids.Add(Procs.Start("/usr/sbin/sshd", ["-D", "-e", "-f", config]).Id);
            _ports.Add(port);
        }

        foreach (var port in _ports)
        {
            Procs.WaitListeningAsync(port, TimeSpan.FromSeconds(15)).GetAwaiter().GetResult();
        }
    }

    public int Instances => _ports.Count;

    /// <summary>The sshd listeners; each forks a child per connection.</summary>
    public IReadOnlyList<int> Pids => _pids;

    private string ConfigFile(string name) => Path.Combine(_dir, $"ssh_config_{name}");

    /// <summary>ssh arguments reaching the last of <paramref name="hops"/> sshd instances through the others with -J.</summary>
    private List<string> Through(int hops, string config)
    {
        var args = new List<string> { "-F", ConfigFile(config), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null" };
        if (hops > 1)
        {
            args.Add("-J");
            args.Add(string.Join(',', _ports.Take(hops - 1).Select(p => $"root@127.0.0.1:{p}")));
        }

        args.AddRange(["-p", _ports[hops - 1].ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return args;
    }

    /// <summary>`ssh -J h1..h(n-1) hn -W dest`: process start → first byte echoed back through the stdio forward.</summary>
    public async Task<double> StdioSetUpMsAsync(int hops, int destinationPort)
    {
        var args = Through(hops, "default");
        args.AddRange(["-W", $"127.0.0.1:{destinationPort}", "root@127.0.0.1"]);
        var clock = Stopwatch.StartNew();
        using var p = Procs.Start("ssh", args, stdio: true);
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await p.StandardInput.BaseStream.WriteAsync(new[] { DualServer.EchoMode }, deadline.Token);
            await p.StandardInput.BaseStream.FlushAsync(deadline.Token);
            var one = new byte[1];
            await p.StandardOutput.BaseStream.ReadExactlyAsync(one, deadline.Token);
            var ms = clock.Elapsed.TotalMilliseconds;
            p.StandardInput.Close();
            await p.WaitForExitAsync(deadline.Token);
            return one[0] == DualServer.EchoMode ? ms : throw new InvalidOperationException("ssh -W echoed a wrong byte");
        }
        finally
        {
            Procs.Stop(p);
        }
    }

    /// <summary>A 3-hop (or n-hop) `ssh -J ... -N -L` forward to <paramref name="destinationPort"/>; returns the local port and the process.</summary>
    public async Task<(int Port, System.Diagnostics.Process Process)> ForwardAsync(int hops, int destinationPort, string config)
    {
        var local = Procs.FreePort();
        var args = Through(hops, config);
        args.AddRange(["-N", "-o", "ExitOnForwardFailure=yes", "-L", $"127.0.0.1:{local}:127.0.0.1:{destinationPort}", "root@127.0.0.1"]);
        var p = Procs.Start("ssh", args);
        await Procs.WaitListeningAsync(local, TimeSpan.FromSeconds(30));
        return (local, p);
    }
}

/// <summary>Three socat relays in a row in front of the destination, tuned as their users run them (128 KiB buffer, not 8 KiB).</summary>
internal sealed class SocatChain
{
    private readonly List<int> _pids = [];

    public SocatChain(int destinationPort, int relays = 3)
    {
        var next = destinationPort;
        for (var i = 0; i < relays; i++)
        {
            var port = Procs.FreePort();
            // -t 30: after one side's EOF socat waits 0.5 s by default for the other, then closes; the destination's
            // reply (its byte count) can take longer than that on a loaded machine.
            _pids.Add(Procs.Start("socat", ["-b", "131072", "-t", "30", $"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,backlog=512", $"TCP:127.0.0.1:{next}"]).Id);
            Procs.WaitListeningAsync(port, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
            next = port;
        }

        EntryPort = next;
    }

    public int EntryPort { get; }

    /// <summary>The listening relays; each forks a child per connection.</summary>
    public IReadOnlyList<int> Pids => _pids;
}
