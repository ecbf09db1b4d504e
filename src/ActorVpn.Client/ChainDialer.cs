using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.Credentials;
using ActorVpn.Observability.Tracing;
using ActorVpn.Protocol;
using ActorVpn.Topology;
using ActorVpn.Wire;

namespace ActorVpn.Client;

/// <summary>A chain that failed to build: where (patent step and hop) and why (【0053】).</summary>
public sealed class ChainException(string step, string hop, string code, string message, Exception? inner = null)
    : Exception($"{code} at {hop} ({step}): {message}", inner)
{
    public string Step { get; } = step;

    public string Hop { get; } = hop;

    public string Code { get; } = code;

    /// <summary>Why, without the code, hop and step that <see cref="Exception.Message"/> already puts in front.</summary>
    public string Reason { get; } = message;

    /// <summary>One line for the log: code, hop and step once, then the reason (or the cause underneath it).</summary>
    public string Summary => $"{Code} at {Hop} ({Step}): {InnerException?.Message ?? Reason}";
}

/// <summary>An end-to-end session to the destination: one TCP connection to the entry proxy carrying the exit proxy's TLS session.</summary>
public sealed class EstablishedChain(Socket socket, NetworkStream transport, IReadOnlyList<SslStream> layers, IReadOnlyList<string> route, string handOffId) : IDisposable
{
    public Socket Socket { get; } = socket;

    /// <summary>The TLS session with the exit proxy: the only layer that carries data once the chain is up.</summary>
    public SslStream Tls => layers[^1];

    public IReadOnlyList<string> Route { get; } = route;

    public string HandOffId { get; } = handOffId;

    public DuplexEnd AsDuplexEnd() => DuplexEnd.ForTls(Tls, Socket);

    public void Dispose()
    {
        foreach (var layer in layers)
        {
            layer.Dispose();
        }

        transport.Dispose();
        Socket.Dispose();
    }
}

/// <summary>
/// Fig. 5, steps 501-507: connect to the entry proxy, authenticate with certificate 1, receive the
/// route, then extend the connection hop by hop through the proxies already passed (each new hop
/// authenticated end to end in its own TLS session, carried by the previous proxies as raw
/// ciphertext), and finally ask the exit proxy to connect to the destination.
/// </summary>
public static class ChainDialer
{
    // The user's certificate with its key, and the trust anchor, read once per profile: reading the PEM, importing the key and
    // building the TLS certificate context cost more than a hop's handshake. Never disposed while the profile lives.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ClientProfile, ProfileCredentials> Credentials = new();

    /// <param name="session">The session's span: each hop gets a child span, whose context travels in that hop's request.</param>
    public static async Task<EstablishedChain> BuildAsync(ClientProfile profile, string destination, TimeSpan connectTimeout, TimeProvider clock, CancellationToken ct,
        Action<string>? progress = null, Activity? session = null)
    {
        // Fig. 5 step 501: the client knows only the entry proxy for the destination.
        if (!profile.Entries.TryGetValue(destination, out var entry))
        {
            throw new ChainException("Fig. 5, step 501", "-", ErrorCodes.UnknownDestination,
                $"profile of '{profile.User}' has no entry proxy for '{destination}' (known: {string.Join(", ", profile.Entries.Keys)})");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var transport = (NetworkStream?)null;
        var layers = new List<SslStream>();
        try
        {
            // Fig. 5 step 502: connect to the entry proxy.
            var endpoint = HostPort.Parse(entry.Address);
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                deadline.CancelAfter(connectTimeout);
                try
                {
                    await socket.ConnectAsync(endpoint.Host, endpoint.Port, deadline.Token);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
                {
                    throw new ChainException("Fig. 5, step 502", entry.Proxy, ErrorCodes.Unreachable, $"cannot connect to {entry.Proxy} at {entry.Address}: {e.Message}", e);
                }
            }

            transport = new NetworkStream(socket, ownsSocket: false);
            var (certificate, anchor, nextAnchor) = Credentials.GetValue(profile, static p => new ProfileCredentials(p));

            // Fig. 5 steps 503/504 at the entry proxy, whose identity must be issued by the user's home server (by its current
            // key, or by the new one of a key rotation the profile was written during).
            var (tls, accepted) = await InHopSpanAsync(session, entry.Proxy, async traceParent =>
            {
                var tls = await HopAsync(transport, 0, entry.Proxy, certificate,
                    presented => ProxyIdentity.VerifyAgainstAnchor(presented, anchor, entry.Proxy, clock.GetUtcNow()) == CertificateVerdict.Valid
                        || (nextAnchor is not null && ProxyIdentity.VerifyAgainstAnchor(presented, nextAnchor, entry.Proxy, clock.GetUtcNow()) == CertificateVerdict.Valid), ct);
                layers.Add(tls);
                return (tls, await AuthenticateAsync(tls, entry.Proxy, new AuthRequest(destination, null, traceParent), ct));
            });
            progress?.Invoke($"authenticated at {entry.Proxy}; route [{string.Join(", ", accepted.Route.Select(r => r.Proxy))}]");
            var route = new List<string> { entry.Proxy };
            var current = tls;
            var currentName = entry.Proxy;

            // Fig. 5 steps 505/506: for each next proxy, ask the current one to connect onwards, then authenticate through the chain.
            // The entry proxy's connect request waits for its answer (the route comes with it); at every later proxy the client
            // already knows what it asks next, so the request follows its authentication request at once, saving a round trip
            // through the chain per hop. A proxy reads that request only once it authenticated the client (Fig. 6, step 607).
            if (accepted.Route.Count > 0)
            {
                await ExpectConnectedAsync(current, currentName, new ConnectOnwards(accepted.Route[0].Proxy), "Fig. 5, step 506", ct);
            }

            for (var i = 0; i < accepted.Route.Count; i++)
            {
                var hop = accepted.Route[i];
                if (string.IsNullOrEmpty(hop.Pin))
                {
                    throw new ChainException("Fig. 5, step 503", hop.Proxy, ErrorCodes.UntrustedPeer, $"the route vouches for no identity of {hop.Proxy}");
                }

                var (following, followingStep) = i + 1 < accepted.Route.Count
                    ? ((ControlMessage)new ConnectOnwards(accepted.Route[i + 1].Proxy), "Fig. 5, step 506")
                    : (new ConnectDestination(destination), "Fig. 5, step 507");
                var outer = current;
                var next = await InHopSpanAsync(session, hop.Proxy, async traceParent =>
                {
                    // The next TLS session runs directly over the TCP connection: the proxies passed relay it as ciphertext.
                    var next = await HopAsync(transport, route.Count, hop.Proxy, certificate, presented => Pins.Matches(presented, hop.Pin), ct);
                    layers.Add(next);
                    // The outer session is never read or written again (its proxy now relays ciphertext): free its TLS state now,
                    // so an idle session holds one TLS session, not one per hop. Disposing sends nothing on the transport.
                    outer.Dispose();
                    await AuthenticateAsync(next, hop.Proxy, new AuthRequest(destination, accepted.HandOffId, traceParent), ct, following);
                    return next;
                });
                progress?.Invoke($"authenticated at {hop.Proxy} through {string.Join(", ", route)}");
                route.Add(hop.Proxy);
                current = next;
                currentName = hop.Proxy;
                await ExpectAnswerAsync(current, currentName, followingStep, ct);
            }

            if (accepted.Route.Count == 0)
            {
                // Fig. 5 step 507: the entry proxy is the exit: ask it to connect to the server.
                await ExpectConnectedAsync(current, currentName, new ConnectDestination(destination), "Fig. 5, step 507", ct);
            }

            return new EstablishedChain(socket, transport, layers, route, accepted.HandOffId);
        }
        catch
        {
            foreach (var layer in layers)
            {
                layer.Dispose();
            }

            transport?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    private sealed class ProfileCredentials(ClientProfile profile)
    {
        private readonly X509Certificate2 _certificate = profile.CertificateWithKey();
        private readonly X509Certificate2 _anchor = profile.TrustAnchor();
        private readonly X509Certificate2? _nextAnchor = profile.NextTrustAnchor();

        public void Deconstruct(out X509Certificate2 certificate, out X509Certificate2 anchor, out X509Certificate2? nextAnchor) =>
            (certificate, anchor, nextAnchor) = (_certificate, _anchor, _nextAnchor);
    }

    /// <summary>Fig. 5 steps 503/504 at one proxy as a span of the session: the TLS handshake and the authentication request.</summary>
    private static async Task<T> InHopSpanAsync<T>(Activity? session, string proxy, Func<string?, Task<T>> hop)
    {
        var span = Spans.StartChild(session, $"tls hop {proxy}", ActivityKind.Client);
        span?.SetTag("avpn.proxy", proxy);
        try
        {
            var result = await hop(Spans.TraceParentOf(span));
            Spans.Stop(span);
            return result;
        }
        catch (Exception e)
        {
            Spans.Fail(span, e switch { ChainException chain => chain.Code, OperationCanceledException => ErrorCodes.Timeout, _ => ErrorCodes.Unreachable }, e.Message);
            throw;
        }
    }

    /// <param name="position">The hop's place on the route, 0 for the entry proxy.</param>
    private static async Task<SslStream> HopAsync(Stream transport, int position, string proxy, X509Certificate2 certificate, Func<X509Certificate2, bool> verify,
        CancellationToken ct)
    {
        try
        {
            // One constant server name for every hop: the SNI travels readable, and the proxy's name there would reveal the route. Its
            // spelling by position lets a returning client resume its session with each hop (Fig. 5, step 503, without signatures).
            return await TlsHop.ConnectAsync(transport, TlsHop.ServerNameForHop(position), certificate, verify, ct);
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            throw new ChainException("Fig. 5, step 503", proxy, ErrorCodes.UntrustedPeer, $"TLS with {proxy} failed (is it the proxy the route vouches for?): {e.Message}", e);
        }
    }

    /// <param name="following">A request sent right behind the authentication request, in the same write, for the proxy to read
    /// once it authenticated the client; its answer is read by the caller.</param>
    private static async Task<AuthAccepted> AuthenticateAsync(SslStream tls, string proxy, AuthRequest request, CancellationToken ct, ControlMessage? following = null)
    {
        if (following is null)
        {
            await FrameCodec.WriteAsync(tls, request, ct);
        }
        else
        {
            await tls.WriteAsync((byte[])[.. FrameCodec.Encode(request), .. FrameCodec.Encode(following)], ct);
            await tls.FlushAsync(ct);
        }

        return await ReadAsync(tls, proxy, "Fig. 5, step 504", ct) switch
        {
            AuthAccepted accepted => accepted,
            Refused refused => throw new ChainException(refused.Step, refused.At, refused.Code, refused.Message),
            var other => throw new ChainException("Fig. 5, step 504", proxy, ErrorCodes.ProtocolError, $"unexpected {other.GetType().Name}"),
        };
    }

    private static async Task ExpectConnectedAsync(SslStream tls, string proxy, ControlMessage request, string step, CancellationToken ct)
    {
        await FrameCodec.WriteAsync(tls, request, ct);
        await ExpectAnswerAsync(tls, proxy, step, ct);
    }

    /// <summary>The answer to a connect request: <see cref="Connected"/>, or the refusal as a <see cref="ChainException"/>.</summary>
    private static async Task ExpectAnswerAsync(SslStream tls, string proxy, string step, CancellationToken ct)
    {
        switch (await ReadAsync(tls, proxy, step, ct))
        {
            case Connected:
                return;
            case Refused refused:
                throw new ChainException(refused.Step, refused.At, refused.Code, refused.Message);
            case var other:
                throw new ChainException(step, proxy, ErrorCodes.ProtocolError, $"unexpected {other.GetType().Name}");
        }
    }

    private static async Task<ControlMessage> ReadAsync(SslStream tls, string proxy, string step, CancellationToken ct)
    {
        try
        {
            return await FrameCodec.ReadAsync(tls, ct);
        }
        catch (Exception e) when (e is FrameException or IOException or System.Security.Authentication.AuthenticationException)
        {
            throw new ChainException(step, proxy, ErrorCodes.Unreachable, $"{proxy} closed the connection: {e.Message}", e);
        }
    }
}
