using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using ActorVpn.Client;
using ActorVpn.Topology;
using Xunit;

namespace ActorVpn.DataPlane.Tests;

/// <summary>Real TCP through the proxy chain on loopback.</summary>
public sealed class EndToEndTests
{
    private const int FourMiB = 4 * 1024 * 1024;

    [Fact]
    public async Task The_patent_example_chain_carries_4_MiB_each_way_intact()
    {
        await using var chain = await ChainFixture.StartFromTextAsync(ChainFixture.ExampleTopologyText());
        var established = chain.Kit.CreateTestProbe();
        chain.Node.System.EventStream.Subscribe(established.Ref, typeof(ClientProtocol.SessionEstablished));

        using (var socket = await chain.OpenLocalAsync())
        {
            await Traffic.EchoAndVerifyAsync(socket, FourMiB);
        }

        var session = await established.ExpectMsgAsync<ClientProtocol.SessionEstablished>(ChainFixture.Deadline);
        Assert.Equal(["proxy1", "proxy2", "proxy3"], session.Route);
        await chain.AwaitIdleAsync();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public async Task A_chain_of_n_proxies_carries_4_MiB_each_way_intact(int proxies)
    {
        await using var chain = await ChainFixture.StartAsync(proxies);
        using var built = await chain.DialAsync();
        Assert.Equal(Enumerable.Range(1, proxies).Select(k => $"proxy{k}"), built.Route);

        var payload = RandomNumberGenerator.GetBytes(FourMiB);
        await Traffic.EchoAndVerifyAsync(built.Tls, payload, shutdown: null);
        Assert.Equal(1, chain.Echo.Connections);
    }

    [Fact]
    public async Task Fifty_sessions_at_once_all_arrive_intact()
    {
        await using var chain = await ChainFixture.StartAsync(3);
        var sessions = Enumerable.Range(0, 50).Select(async _ =>
        {
            using var socket = await chain.OpenLocalAsync();
            await Traffic.EchoAndVerifyAsync(socket, 64 * 1024);
        });
        await Task.WhenAll(sessions);
        Assert.Equal(50, chain.Echo.Connections);
        await chain.AwaitIdleAsync();
    }

    [Fact]
    public async Task After_the_client_shuts_its_write_side_the_whole_reply_still_arrives_then_EOF()
    {
        await using var chain = await ChainFixture.StartAsync(3);
        using var socket = await chain.OpenLocalAsync();
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var request = RandomNumberGenerator.GetBytes(256 * 1024);

        // Everything is sent and the write side shut before a single byte is read back.
        await stream.WriteAsync(request);
        socket.Shutdown(SocketShutdown.Send);

        using var deadline = new CancellationTokenSource(ChainFixture.Deadline);
        var reply = new byte[request.Length];
        await stream.ReadExactlyAsync(reply, deadline.Token);
        Assert.Equal(request, reply);
        Assert.Equal(0, await stream.ReadAsync(new byte[1], deadline.Token));
        await chain.AwaitIdleAsync();
    }

    [Fact]
    public async Task The_link_into_the_chain_never_carries_the_plaintext()
    {
        await using var chain = await ChainFixture.StartAsync(3);
        // A plain TCP tap between the client and the entry proxy records every byte on that link.
        await using var tap = new TcpTap(HostPort.Parse(chain.Profile.Entries[ChainFixture.Destination].Address));
        var entry = chain.Profile.Entries[ChainFixture.Destination];
        var tapped = chain.Profile with
        {
            Entries = new Dictionary<string, EntryProxy> { [ChainFixture.Destination] = entry with { Address = tap.Address } },
        };

        var marker = Encoding.ASCII.GetBytes("ATTACK AT DAWN - PLAINTEXT MARKER ");
        var payload = Enumerable.Repeat(marker, 4096).SelectMany(m => m).ToArray();
        using (var socket = await chain.OpenLocalAsync(tapped))
        {
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await Traffic.EchoAndVerifyAsync(stream, payload, () => socket.Shutdown(SocketShutdown.Send));
        }

        await chain.AwaitIdleAsync();
        var (up, down) = tap.Captured();
        Assert.True(up.Length >= payload.Length && down.Length >= payload.Length, $"the tap saw {up.Length} / {down.Length} bytes");
        Assert.Equal(-1, up.AsSpan().IndexOf(marker));
        Assert.Equal(-1, down.AsSpan().IndexOf(marker));
    }

    /// <summary>Forwards one TCP connection to <c>target</c> and keeps a copy of both directions.</summary>
    private sealed class TcpTap : IAsyncDisposable
    {
        private readonly Socket _listener = new(SocketType.Stream, ProtocolType.Tcp);
        private readonly MemoryStream _up = new();
        private readonly MemoryStream _down = new();
        private readonly Task _run;

        public TcpTap(HostPort target)
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(1);
            Address = _listener.LocalEndPoint!.ToString()!;
            _run = RunAsync(target);
        }

        public string Address { get; }

        public (byte[] Up, byte[] Down) Captured()
        {
            lock (_up)
            {
                return (_up.ToArray(), _down.ToArray());
            }
        }

        private async Task RunAsync(HostPort target)
        {
            using var client = await _listener.AcceptAsync();
            using var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await server.ConnectAsync(target.Host, target.Port);
            await Task.WhenAll(PumpAsync(client, server, _up), PumpAsync(server, client, _down));
        }

        private async Task PumpAsync(Socket from, Socket to, MemoryStream copy)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int read;
                while ((read = await from.ReceiveAsync(buffer)) > 0)
                {
                    lock (_up)
                    {
                        copy.Write(buffer, 0, read);
                    }

                    await to.SendAsync(buffer.AsMemory(0, read));
                }

                to.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                to.Close(0);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Dispose();
            await _run.WaitAsync(ChainFixture.Deadline).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
