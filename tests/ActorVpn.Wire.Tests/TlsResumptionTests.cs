using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Xunit;

namespace ActorVpn.Wire.Tests;

/// <summary>
/// A returning client resumes its TLS 1.3 session with each hop; the resumed session must authenticate exactly as the full
/// handshake did: the proxy learns the same client certificate (which its auth server judges again), the client still checks
/// the proxy, and one user's session never serves another. Each test uses certificates of its own, so no other test's
/// sessions are resumed here.
/// </summary>
[Collection(nameof(TlsSessionCacheCollection))]
public class TlsResumptionTests
{
    [Fact]
    public void Every_hop_asks_for_the_one_server_name_in_a_spelling_of_its_own()
    {
        var names = Enumerable.Range(0, 16).Select(TlsHop.ServerNameForHop).ToList();

        Assert.Equal(TlsHop.ServerName, names[0]);
        Assert.All(names, name => Assert.Equal(TlsHop.ServerName, name.ToLowerInvariant()));
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task A_returning_client_resumes_with_each_hop_and_each_proxy_still_learns_its_certificate()
    {
        var (proxy1, proxy2, user) = (Certs.Create("proxy1"), Certs.Create("proxy2"), Certs.Create("carol"));
        await CacheCredentialsAsync([proxy1, proxy2], [user]);
        var verified = 0;
        bool Pinned(X509Certificate2 presented, X509Certificate2 expected)
        {
            Interlocked.Increment(ref verified);
            return TlsHop.SpkiPin(presented) == TlsHop.SpkiPin(expected);
        }

        var resumed = new List<bool>();
        for (var round = 0; round < 3; round++)
        {
            foreach (var (hop, proxy) in new[] { (0, proxy1), (1, proxy2) })
            {
                var (client, seenByProxy) = await HandshakeAsync(proxy, TlsHop.ServerNameForHop(hop), user, presented => Pinned(presented, proxy));
                Assert.Equal(user.Thumbprint, seenByProxy);
                resumed.Add(client);
            }
        }

        // The first round is full handshakes; after it, each hop resumes its own session (one spelling per hop keeps them apart).
        Assert.Equal([false, false, true, true, true, true], resumed);
        Assert.Equal(6, verified); // the client judged the proxy on every handshake, resumed ones included
    }

    [Fact]
    public async Task A_resumed_session_of_one_user_never_authenticates_another()
    {
        var (proxy, alice, bob) = (Certs.Create("proxy1"), Certs.Create("alice-r"), Certs.Create("bob-r"));
        var name = TlsHop.ServerNameForHop(0);
        await CacheCredentialsAsync([proxy], [alice, bob]);

        await HandshakeAsync(proxy, name, alice, _ => true);
        var (aliceResumed, seenForAlice) = await HandshakeAsync(proxy, name, alice, _ => true);
        var (bobResumed, seenForBob) = await HandshakeAsync(proxy, name, bob, _ => true);
        var (_, seenForAliceAgain) = await HandshakeAsync(proxy, name, alice, _ => true);

        Assert.True(aliceResumed);
        Assert.Equal(alice.Thumbprint, seenForAlice);
        Assert.False(bobResumed);
        Assert.Equal(bob.Thumbprint, seenForBob);
        Assert.Equal(alice.Thumbprint, seenForAliceAgain);
    }

    [Fact]
    public async Task A_client_refuses_a_proxy_its_verifier_rejects_even_on_a_session_it_could_resume()
    {
        var (proxy, user) = (Certs.Create("proxy1"), Certs.Create("dave"));
        var name = TlsHop.ServerNameForHop(0);
        await CacheCredentialsAsync([proxy], [user]);
        await HandshakeAsync(proxy, name, user, _ => true);
        var (resumed, _) = await HandshakeAsync(proxy, name, user, _ => true);
        Assert.True(resumed);

        // The route now pins another key (the proxy was replaced, say): the session the client holds must not stand in for the pin.
        await Assert.ThrowsAnyAsync<Exception>(() => HandshakeAsync(proxy, name, user, _ => false));
    }

    /// <summary>
    /// One handshake of each user with each proxy under a server name the tests never ask for, so every certificate a test uses
    /// is in .NET's process-wide cache of TLS credentials before it counts on a resumption. .NET keeps a client's resumable
    /// sessions with its cached credential and sweeps the cache each time a 32nd new certificate enters it; a session stored
    /// while the test's own certificates were still entering could be swept away with its credential.
    /// </summary>
    private static async Task CacheCredentialsAsync(X509Certificate2[] proxies, X509Certificate2[] users)
    {
        foreach (var proxy in proxies)
        {
            foreach (var user in users)
            {
                await HandshakeAsync(proxy, "credential-warm-up", user, _ => true);
            }
        }
    }

    /// <summary>One handshake with a fresh proxy connection: whether the client resumed, and the certificate the proxy learned.</summary>
    private static async Task<(bool Resumed, string ClientCertificate)> HandshakeAsync(
        X509Certificate2 proxy, string serverName, X509Certificate2 user, Func<X509Certificate2, bool> verify)
    {
        var ct = Guard.Token();
        using var pair = await SocketPair.CreateAsync();
        var server = TlsHop.AcceptAsync(new NetworkStream(pair.Server), proxy, ct);
        await using var client = await TlsHop.ConnectAsync(new NetworkStream(pair.Client), serverName, user, verify, ct);
        var (serverTls, clientCertificate) = await server;
        await using var serverSide = serverTls;

        // A frame each way: the session is in use, and the client has taken the session tickets the proxy sent after the handshake.
        await FrameCodec.WriteAsync(serverTls, new Connected("x"), ct);
        Assert.Equal(new Connected("x"), await FrameCodec.ReadAsync(client, ct));
        await FrameCodec.WriteAsync(client, new Connected("y"), ct);
        Assert.Equal(new Connected("y"), await FrameCodec.ReadAsync(serverTls, ct));
        return (TlsSessionProbe.WasResumed(client), clientCertificate.Thumbprint);
    }
}
