using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Wire.Tests;

/// <summary>A connected loopback TCP pair.</summary>
internal sealed class SocketPair : IDisposable
{
    private SocketPair(Socket client, Socket server)
    {
        Client = client;
        Server = server;
    }

    public Socket Client { get; }

    public Socket Server { get; }

    public static async Task<SocketPair> CreateAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await accept;
        server.NoDelay = true;
        return new SocketPair(client, server);
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}

internal static class Certs
{
    /// <summary>A self-signed ECDSA P-256 certificate usable for both TLS server and client authentication.</summary>
    public static X509Certificate2 Create(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
    }
}

internal static class StreamTools
{
    public static byte[] RandomBytes(int seed, int count)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Writes <paramref name="data"/> in uneven chunks.</summary>
    public static async Task WriteChunkedAsync(Stream stream, byte[] data, CancellationToken ct)
    {
        var random = new Random(data.Length);
        var offset = 0;
        while (offset < data.Length)
        {
            var n = Math.Min(random.Next(1, 100_000), data.Length - offset);
            await stream.WriteAsync(data.AsMemory(offset, n), ct);
            offset += n;
        }

        await stream.FlushAsync(ct);
    }

    /// <summary>Reads to EOF and returns the SHA-256 and the byte count.</summary>
    public static async Task<(byte[] Hash, long Count)> HashToEndAsync(Stream stream, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[32 * 1024];
        var count = 0L;
        int n;
        while ((n = await stream.ReadAsync(buffer, ct)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            count += n;
        }

        return (hash.GetHashAndReset(), count);
    }

    public static async Task<byte[]> ReadToEndAsync(Stream stream, CancellationToken ct)
    {
        using var memory = new MemoryStream();
        await stream.CopyToAsync(memory, ct);
        return memory.ToArray();
    }
}

/// <summary>Upper bound for a test that would otherwise hang on a bug; not a timing assertion.</summary>
internal static class Guard
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static CancellationToken Token() => new CancellationTokenSource(Timeout).Token;
}
