using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ActorVpn.Hosting;
using ActorVpn.Testing;
using ActorVpn.Topology;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.DataPlane.Tests;

/// <summary>The built <c>avpn connect --socks5 --http-proxy</c> with a real <c>curl</c> fetching a page through the chain.</summary>
public sealed class ConnectBinaryTests
{
    private const string Page = "hello from the destination\n";

    /// <summary>A destination that answers every request with <see cref="Page"/> and closes.</summary>
    private static async Task ServePagesAsync(Socket listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var socket = await listener.AcceptAsync(ct);
            _ = Task.Run(async () =>
            {
                using (socket)
                await using (var stream = new NetworkStream(socket))
                {
                    var head = new List<byte>();
                    var one = new byte[1];
                    while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n')
                        && await stream.ReadAsync(one, ct) == 1)
                    {
                        head.Add(one[0]);
                    }

                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {Page.Length}\r\nConnection: close\r\n\r\n{Page}"), ct);
                }
            }, ct);
        }
    }

    private static async Task<(int ExitCode, string Stdout)> CurlAsync(params string[] args)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-s", "--max-time", "30" }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        using var curl = Process.Start(start)!;
        var stdout = curl.StandardOutput.ReadToEndAsync();
        _ = curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync();
        return (curl.ExitCode, await stdout);
    }


    [Fact]
    public async Task Curl_fetches_a_page_through_the_chain_with_socks5_hostname_and_with_http_connect()
    {
        if (!File.Exists("/usr/bin/curl"))
        {
            return; // the protocol itself is covered by LocalProxyTests' hand-written clients
        }

        using var stop = new CancellationTokenSource();
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        var serving = ServePagesAsync(listener, stop.Token);

        var text = ChainFixture.ChainTopologyText(3).Replace("DESTINATION", listener.LocalEndPoint!.ToString(), StringComparison.Ordinal);
        var topology = ChainFixture.WithEphemeralListenPorts(TopologyLoader.LoadText(text, "test topology"));
        await using var node = await VpnNode.StartAsync(topology, ConfigurationFactory.ParseString("akka.loglevel = WARNING"));
        var profilePath = Path.Combine(Path.GetTempPath(), $"avpn-socks-{Guid.NewGuid():N}.avpn");
        (await node.EnrollUserAsync(ChainFixture.User, ChainFixture.Home)).Save(profilePath);

        using var avpn = Process.Start(AvpnBinary.StartInfo(["connect", "--profile", profilePath, "--socks5", $"127.0.0.1:{FreePorts.Take()}", "--http-proxy", $"127.0.0.1:{FreePorts.Take()}"]))!;
        try
        {
            var errors = avpn.StandardError.ReadToEndAsync();
            string? socks = null, http = null;
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (socks is null || http is null)
            {
                var line = await avpn.StandardOutput.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException($"avpn connect exited before listening: {await errors}");
                socks ??= line.StartsWith("SOCKS5 proxy on ", StringComparison.Ordinal) ? line.Split(' ')[3].TrimEnd(':') : null;
                http ??= line.StartsWith("HTTP CONNECT proxy on ", StringComparison.Ordinal) ? line.Split(' ')[4].TrimEnd(':') : null;
            }

            var bySocks = await CurlAsync("--socks5-hostname", socks, "http://server/");
            Assert.Equal((0, Page), bySocks);

            var byHttpConnect = await CurlAsync("-p", "-x", $"http://{http}", "http://server/");
            Assert.Equal((0, Page), byHttpConnect);

            // A destination the profile does not have: curl is refused (no page), nothing is fetched.
            var unknown = await CurlAsync("--socks5-hostname", socks, "http://example.com/");
            Assert.NotEqual(0, unknown.ExitCode);
            Assert.Equal(string.Empty, unknown.Stdout);
        }
        finally
        {
            avpn.Kill(entireProcessTree: true);
            await avpn.WaitForExitAsync();
            File.Delete(profilePath);
            stop.Cancel();
            listener.Close();
            await Task.WhenAny(serving);
        }
    }
}
