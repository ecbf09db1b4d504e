using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Xunit;

namespace ActorVpn.Wire.Tests;

public class TlsHopTests
{
    private static readonly X509Certificate2 Proxy1 = Certs.Create("proxy1");
    private static readonly X509Certificate2 Proxy2 = Certs.Create("proxy2");
    private static readonly X509Certificate2 User = Certs.Create("alice");

    [Fact]
    public async Task Both_sides_authenticate_with_tls_1_3_and_exchange_frames()
    {
        var ct = Guard.Token();
        using var pair = await SocketPair.CreateAsync();
        X509Certificate2? seenByClient = null;

        var server = TlsHop.AcceptAsync(new NetworkStream(pair.Server), Proxy1, ct);
        await using var client = await TlsHop.ConnectAsync(new NetworkStream(pair.Client), "proxy1", User, cert =>
        {
            seenByClient = cert;
            return TlsHop.SpkiPin(cert) == TlsHop.SpkiPin(Proxy1);
        }, ct);
        var (serverTls, clientCertificate) = await server;
        await using var serverTlsDisposer = serverTls;

        Assert.Equal(SslProtocols.Tls13, client.SslProtocol);
        Assert.Equal(SslProtocols.Tls13, serverTls.SslProtocol);
        Assert.True(client.IsMutuallyAuthenticated);
        Assert.Equal(User.Thumbprint, clientCertificate.Thumbprint);
        Assert.Equal(Proxy1.Thumbprint, seenByClient?.Thumbprint);

        await FrameCodec.WriteAsync(client, new AuthRequest("server.example:80", null), ct);
        Assert.Equal(new AuthRequest("server.example:80", null), await FrameCodec.ReadAsync(serverTls, ct));
        await FrameCodec.WriteAsync(serverTls, new Refused("denied", "604", "proxy1", "no"), ct);
        Assert.Equal(new Refused("denied", "604", "proxy1", "no"), await FrameCodec.ReadAsync(client, ct));
    }

    [Fact]
    public void A_pin_is_the_base64_sha256_of_the_subject_public_key_info()
    {
        var pin = TlsHop.SpkiPin(Proxy1);

        Assert.Equal(Convert.ToBase64String(SHA256.HashData(Proxy1.PublicKey.ExportSubjectPublicKeyInfo())), pin);
        Assert.NotEqual(pin, TlsHop.SpkiPin(Proxy2));
        Assert.IsType<RouteHop>(Assert.IsType<AuthAccepted>(
            FrameCodec.Decode(FrameCodec.Encode(new AuthAccepted("h", [new RouteHop("proxy1", "a", pin)], "proxy1")))).Route[0]);
    }

    [Fact]
    public async Task A_server_the_verifier_rejects_fails_the_handshake()
    {
        var ct = Guard.Token();
        using var pair = await SocketPair.CreateAsync();
        var server = TlsHop.AcceptAsync(new NetworkStream(pair.Server), Proxy2, ct);

        // The client expects proxy1's key: proxy2 answering is a man in the middle.
        await Assert.ThrowsAsync<AuthenticationException>(() =>
            TlsHop.ConnectAsync(new NetworkStream(pair.Client), "proxy1", User, cert => TlsHop.SpkiPin(cert) == TlsHop.SpkiPin(Proxy1), ct));
        pair.Client.Close();

        Assert.Equal(-1, await FirstReadAsync(server, ct));
    }

    [Fact]
    public async Task A_verifier_that_throws_refuses_the_server()
    {
        var ct = Guard.Token();
        using var pair = await SocketPair.CreateAsync();
        var server = TlsHop.AcceptAsync(new NetworkStream(pair.Server), Proxy1, ct);

        await Assert.ThrowsAsync<AuthenticationException>(() =>
            TlsHop.ConnectAsync(new NetworkStream(pair.Client), "proxy1", User, _ => throw new InvalidOperationException("broken verifier"), ct));
        pair.Client.Close();

        Assert.Equal(-1, await FirstReadAsync(server, ct));
    }

    [Fact]
    public async Task A_client_without_a_certificate_is_refused_by_the_server()
    {
        var ct = Guard.Token();
        using var pair = await SocketPair.CreateAsync();
        var server = TlsHop.AcceptAsync(new NetworkStream(pair.Server), Proxy1, ct);
        await using var client = new SslStream(new NetworkStream(pair.Client), leaveInnerStreamOpen: false);

        var clientSide = Task.Run(async () =>
        {
            // In TLS 1.3 the client may finish its handshake before the server judges its (missing) certificate;
            // then the refusal shows on its first read.
            await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "proxy1",
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, ct);
            try
            {
                return await client.ReadAsync(new byte[1], ct);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException)
            {
                return -1;
            }
        });

        await Assert.ThrowsAsync<AuthenticationException>(() => server);
        pair.Server.Close();
        // The client never gets application data: its handshake or its first read fails, or it sees the connection end.
        var clientResult = await Record.ExceptionAsync(() => clientSide) is null ? await clientSide : -1;
        Assert.True(clientResult <= 0);
    }

    [Fact]
    public async Task A_telescoped_second_hop_runs_raw_through_the_first_proxy_and_data_flows_end_to_end()
    {
        var ct = Guard.Token();
        using var clientToProxy1 = await SocketPair.CreateAsync();
        using var proxy1ToProxy2 = await SocketPair.CreateAsync();
        var marker = "PLAINTEXT-MARKER-"u8.ToArray();
        var payload = new byte[1024 * 1024];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = marker[i % marker.Length];
        }

        var seenByProxy1 = new RecordingStream(new NetworkStream(clientToProxy1.Server, ownsSocket: true));
        var relayCounters = new RelayCounters();

        // Proxy 1 (entry): authenticate, answer with the route, connect onwards, then relay raw bytes.
        var proxy1 = Task.Run(async () =>
        {
            var (tls, _) = await TlsHop.AcceptAsync(seenByProxy1, Proxy1, ct);
            Assert.IsType<AuthRequest>(await FrameCodec.ReadAsync(tls, ct));
            await FrameCodec.WriteAsync(tls, new AuthAccepted("h1", [new RouteHop("proxy2", "127.0.0.1:2", TlsHop.SpkiPin(Proxy2))], "proxy2"), ct);
            Assert.Equal(new ConnectOnwards("proxy2"), await FrameCodec.ReadAsync(tls, ct));
            await FrameCodec.WriteAsync(tls, new Connected("proxy2"), ct);
            seenByProxy1.StartRecording();
            return await RelayPump.RunAsync(
                DuplexEnd.ForSocket(clientToProxy1.Server, seenByProxy1), DuplexEnd.ForSocket(proxy1ToProxy2.Client), relayCounters, ct);
        });

        // Proxy 2 (exit): authenticates the client end to end through proxy 1, then reads everything and replies.
        var proxy2 = Task.Run(async () =>
        {
            var (tls, clientCertificate) = await TlsHop.AcceptAsync(new NetworkStream(proxy1ToProxy2.Server), Proxy2, ct);
            Assert.Equal(new AuthRequest("server.example:80", "h1"), await FrameCodec.ReadAsync(tls, ct));
            await FrameCodec.WriteAsync(tls, new AuthAccepted("h1", [], null), ct);
            var (hash, count) = await StreamTools.HashToEndAsync(tls, ct);
            await tls.WriteAsync(Encoding.ASCII.GetBytes($"got {count} bytes"), ct);
            await tls.ShutdownAsync();
            proxy1ToProxy2.Server.Shutdown(SocketShutdown.Send);
            return (hash, clientCertificate.Thumbprint);
        });

        // Client: hop 1 over TCP, then hop 2 over the same TCP connection once proxy 1 relays raw.
        var transport = new NetworkStream(clientToProxy1.Client);
        var hop1 = await TlsHop.ConnectAsync(transport, "proxy1", User, cert => TlsHop.SpkiPin(cert) == TlsHop.SpkiPin(Proxy1), ct);
        await FrameCodec.WriteAsync(hop1, new AuthRequest("server.example:80", null), ct);
        var accepted = Assert.IsType<AuthAccepted>(await FrameCodec.ReadAsync(hop1, ct));
        await FrameCodec.WriteAsync(hop1, new ConnectOnwards(accepted.Route[0].Proxy), ct);
        Assert.Equal(new Connected("proxy2"), await FrameCodec.ReadAsync(hop1, ct));
        await hop1.DisposeAsync();

        await using var hop2 = await TlsHop.ConnectAsync(transport, "proxy2", User, cert => TlsHop.SpkiPin(cert) == accepted.Route[0].Pin, ct);
        await FrameCodec.WriteAsync(hop2, new AuthRequest("server.example:80", "h1"), ct);
        Assert.Equal(new AuthAccepted("h1", [], null) with { Route = accepted.Route }, (AuthAccepted)await FrameCodec.ReadAsync(hop2, ct) with { Route = accepted.Route });
        await StreamTools.WriteChunkedAsync(hop2, payload, ct);
        await hop2.ShutdownAsync();
        clientToProxy1.Client.Shutdown(SocketShutdown.Send);
        var reply = Encoding.ASCII.GetString(await StreamTools.ReadToEndAsync(hop2, ct));

        Assert.Equal($"got {payload.Length} bytes", reply);
        var (exitHash, exitSawCertificate) = await proxy2;
        Assert.Equal(SHA256.HashData(payload), exitHash);
        Assert.Equal(User.Thumbprint, exitSawCertificate);
        var relay = await proxy1;
        Assert.True(relay.Clean, relay.Error);
        Assert.True(relay.BytesAToB > payload.Length);

        // Proxy 1 relayed only ciphertext: the plaintext never appears in what it read after the hand-over.
        var relayed = seenByProxy1.Recorded;
        Assert.Equal(relay.BytesAToB, relayed.Length);
        Assert.Equal(-1, relayed.AsSpan().IndexOf(marker));
    }

    /// <summary>
    /// The server's view of a refused handshake. In TLS 1.3 a client judges the server's certificate after sending
    /// its Finished, so the server's handshake may succeed; then its first read ends the connection.
    /// Returns -1 if the handshake or the first read failed, else what the first read returned.
    /// </summary>
    private static async Task<int> FirstReadAsync(Task<(SslStream Tls, X509Certificate2 ClientCertificate)> server, CancellationToken ct)
    {
        try
        {
            var (tls, _) = await server;
            await using (tls)
            {
                return await tls.ReadAsync(new byte[1], ct) == 0 ? -1 : 1;
            }
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return -1;
        }
    }

    /// <summary>Passes everything through and, once started, records what was read.</summary>
    private sealed class RecordingStream(Stream inner) : Stream
    {
        private readonly MemoryStream _recorded = new();
        private volatile bool _recording;

        public byte[] Recorded
        {
            get
            {
                lock (_recorded)
                {
                    return _recorded.ToArray();
                }
            }
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void StartRecording() => _recording = true;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            if (_recording)
            {
                lock (_recorded)
                {
                    _recorded.Write(buffer.Span[..n]);
                }
            }

            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
