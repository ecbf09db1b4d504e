using ActorVpn.AuthServers;
using ActorVpn.AuthServers.HandOff;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Credentials;
using ActorVpn.Topology;
using Akka.Actor;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Hosting;

/// <summary>A user's credentials as issued by its home server: what a client profile is made of.</summary>
/// <param name="NextTrustAnchorDer">While the home server rotates its signing key: the new key's anchor, which the profile trusts too.</param>
public sealed record UserEnrollment(string User, string HomeServer, byte[] CertificateDer, byte[] PrivateKeyPkcs8, byte[] TrustAnchorDer, byte[]? NextTrustAnchorDer = null);

/// <summary>
/// The auth-server side of a running system: starts the Fig. 4 tree of auth-server actors,
/// distributes the inter-server credentials in advance (【0023】) and registers the topology's users.
/// </summary>
public sealed class ControlPlane
{
    private readonly ActorSystem _system;
    private readonly TimeSpan _askTimeout;
    private readonly Func<string, ICanTell>? _resolve;
    private bool _started;

    private ControlPlane(ActorSystem system, TopologyModel topology, TimeSpan askTimeout, Func<string, ICanTell>? resolve = null)
    {
        _system = system;
        Topology = topology;
        _askTimeout = askTimeout;
        _resolve = resolve;
    }

    public TopologyModel Topology { get; }

    public IActorRef Guardian { get; private set; } = ActorRefs.Nobody;

    public static async Task<ControlPlane> StartAsync(ActorSystem system, TopologyModel topology, AuthServerSettings settings,
        TimeSpan? askTimeout = null)
    {
        var plane = new ControlPlane(system, topology, askTimeout ?? TimeSpan.FromSeconds(30));
        // Requests caught in an auth server that fails for the store get a prompt answer, not an ask timeout.
        system.ActorOf(StoreFailureAnswerer.Props(), StoreFailureAnswerer.Name);
        plane.Guardian = system.ActorOf(AuthServersGuardian.Props(topology, settings), AuthServersGuardian.Name);
        await plane.Guardian.Ask<ActorIdentity>(new Identify(null), plane._askTimeout);
        var identities = await plane.IdentitiesAsync();
        await plane.DistributeCredentialsAsync(identities);
        plane._started = true;
        // Inter-server credentials are renewed before they expire, not only at start-up.
        system.ActorOf(CredentialRenewal.Props(plane, settings.CredentialRenewBefore), CredentialRenewal.Name);
        return plane;
    }

    /// <summary>
    /// A control plane over auth servers that run elsewhere (a cluster: each group is a singleton on
    /// some node); <paramref name="resolve"/> names the ref to reach each server by. Distributes the
    /// inter-server credentials like <see cref="StartAsync"/> (idempotent: credentials already held are kept).
    /// </summary>
    public static async Task<ControlPlane> AttachAsync(ActorSystem system, TopologyModel topology, Func<string, ICanTell> resolve, TimeSpan? askTimeout = null)
    {
        var plane = Over(system, topology, resolve, askTimeout);
        var identities = await plane.IdentitiesAsync();
        await plane.DistributeCredentialsAsync(identities);
        return plane;
    }

    /// <summary>
    /// A control plane over auth servers that run elsewhere, which distributes nothing: where one
    /// distributor already keeps the credentials (a cluster's credential keeper), a second one racing
    /// it could leave a caller holding a credential its callee no longer recognises.
    /// </summary>
    public static ControlPlane Over(ActorSystem system, TopologyModel topology, Func<string, ICanTell> resolve, TimeSpan? askTimeout = null) =>
        new(system, topology, askTimeout ?? TimeSpan.FromSeconds(30), resolve);

    /// <summary>How many of the 【0023】 credentials the topology's trusts call for are not held yet (for the current keys).</summary>
    public async Task<int> MissingCredentialsAsync()
    {
        var identities = await IdentitiesAsync();
        return Topology.AuthServers.Sum(callee => callee.Trusts.Count(caller =>
            !(identities[caller].CredentialsHeld.TryGetValue(callee.Name, out var held) && CertifiesKey(held, identities[caller].PublicKeyInfo, TimeSpan.Zero))));
    }

    /// <summary>An auth server by name (through its actor path, which follows Fig. 4).</summary>
    public ActorSelection AuthServer(string name) => _system.ActorSelection(AuthServersGuardian.PathOf(Topology, name));

    /// <summary>
    /// Asks an auth server. Once the system has started, one that is not running (e.g. stopped by a
    /// store failure) fails at once with <c>unreachable</c> instead of timing out.
    /// </summary>
    public Task<T> AskAsync<T>(string authServer, object message) =>
        _resolve is not null ? _resolve(authServer).Ask<T>(message, _askTimeout)
        : !_started ? AuthServer(authServer).Ask<T>(message, _askTimeout)
        : AuthServerRegistry.For(_system).Find(authServer) is { } server
            ? server.Ask<T>(message, _askTimeout)
            : Task.FromException<T>(new InvalidOperationException($"unreachable: auth server {authServer} is not running (store unavailable? see the log)"));

    /// <summary>
    /// Asks every auth server who it is, top of the tree first: a member exists once its upper
    /// server has answered (members are created when the upper server starts).
    /// </summary>
    private async Task<Dictionary<string, AuthServerIdentity>> IdentitiesAsync()
    {
        var identities = new Dictionary<string, AuthServerIdentity>(StringComparer.Ordinal);
        var level = Topology.Roots.Select(r => r.Name).ToList();
        while (level.Count > 0)
        {
            var answers = await Task.WhenAll(level.Select(name => AskAsync<AuthServerIdentity>(name, GetIdentity.Instance)));
            foreach (var identity in answers)
            {
                identities[identity.Name] = identity;
            }

            level = level.SelectMany(name => Topology.MembersOf(name).Select(m => m.Name)).ToList();
        }

        return identities;
    }

    /// <summary>
    /// Issues a new credential wherever the one held expires within <paramref name="renewBefore"/>
    /// (【0023】, done again before expiry); the old one is accepted until it expires. Returns the
    /// renewed pairs as "issuer -> holder".
    /// </summary>
    public async Task<IReadOnlyList<string>> RenewCredentialsAsync(TimeSpan renewBefore) =>
        await DistributeCredentialsAsync(await IdentitiesAsync(), renewBefore);

    /// <summary>
    /// 【0023】: every server issues a credential to each server it trusts, for that server's own
    /// signing key, and the holder keeps it. A credential already held for the holder's current key
    /// is kept (a restarted system re-uses what it persisted) unless it expires within <paramref name="renewBefore"/>.
    /// </summary>
    private async Task<IReadOnlyList<string>> DistributeCredentialsAsync(Dictionary<string, AuthServerIdentity> identities, TimeSpan renewBefore = default)
    {
        var distributed = new List<string>();
        foreach (var callee in Topology.AuthServers)
        {
            foreach (var caller in callee.Trusts)
            {
                var holder = identities[caller];
                if (holder.CredentialsHeld.TryGetValue(callee.Name, out var existing) && CertifiesKey(existing, holder.PublicKeyInfo, renewBefore))
                {
                    continue;
                }

                var credential = await AskAsync<object>(callee.Name, new IssuePeerCredential(caller, holder.PublicKeyInfo)) switch
                {
                    PeerCredential issued => issued,
                    AdminRefused refused => throw new InvalidOperationException(refused.Reason),
                    var other => throw new InvalidOperationException($"unexpected answer {other}"),
                };
                await AskAsync<PeerCredentialAccepted>(caller, new AcceptPeerCredential(callee.Name, credential.CertificateDer));
                distributed.Add($"{callee.Name} -> {caller}");
            }
        }

        return distributed;
    }

    private static bool CertifiesKey(byte[] certificateDer, byte[] publicKeyInfo, TimeSpan renewBefore)
    {
        using var certificate = CertificateText.FromDer(certificateDer);
        return certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(publicKeyInfo)
            && certificate.NotAfter.ToUniversalTime() > DateTime.UtcNow + renewBefore;
    }

    /// <summary>Registers <paramref name="user"/> at its home server only, with a fresh key (【0012】).</summary>
    public async Task<UserEnrollment> RegisterUserAsync(string user, string homeServer, string by = "topology", TimeSpan? lifetime = null)
    {
        if (!Topology.HasAuthServer(homeServer))
        {
            throw new InvalidOperationException($"no auth server '{homeServer}' in {Topology.Source}");
        }

        using var key = LeafKey.Create();
        return await AskAsync<object>(homeServer, new RegisterUser(user, key.SubjectPublicKeyInfo, by, lifetime)) switch
        {
            UserCertificateIssued issued => new UserEnrollment(user, homeServer, issued.CertificateDer, key.ExportPkcs8PrivateKey(), issued.TrustAnchorDer, issued.NextTrustAnchorDer),
            AdminRefused refused => throw new InvalidOperationException(refused.Reason),
            var other => throw new InvalidOperationException($"unexpected answer {other}"),
        };
    }

    /// <summary>
    /// Enrols a proxy at the auth server that manages it, for the public key in <paramref name="subjectPublicKeyInfo"/>,
    /// as the proxy itself does when it starts (<c>ProxyActor</c>): from then on that server vouches for it on routes.
    /// </summary>
    public async Task<ProxyIdentityIssued> EnrollProxyAsync(string proxy, byte[] subjectPublicKeyInfo, string? listenAddress = null)
    {
        if (!Topology.HasProxy(proxy))
        {
            throw new InvalidOperationException($"no proxy '{proxy}' in {Topology.Source}");
        }

        return await AskAsync<object>(Topology.Proxy(proxy).AuthServer, new EnrollProxy(proxy, subjectPublicKeyInfo, listenAddress)) switch
        {
            ProxyIdentityIssued issued => issued,
            AdminRefused refused => throw new InvalidOperationException(refused.Reason),
            var other => throw new InvalidOperationException($"unexpected answer {other}"),
        };
    }

    /// <summary>
    /// Enrols every proxy of the topology (but <paramref name="except"/>) with a throwaway key, where no real proxy
    /// runs: what <c>avpn route trace --topology</c> and control-plane tests stand in for a system whose proxies all started.
    /// </summary>
    public async Task EnrollStandInProxiesAsync(IReadOnlyCollection<string>? except = null)
    {
        foreach (var proxy in Topology.Proxies.Where(p => except?.Contains(p.Name) != true))
        {
            using var key = LeafKey.Create();
            await EnrollProxyAsync(proxy.Name, key.SubjectPublicKeyInfo, proxy.Listen.ToString());
        }
    }

    /// <summary>
    /// Where <paramref name="proxy"/> listens as its auth server knows it from the proxy's enrolment (the
    /// address that server puts on routes, Fig. 3); fails, saying so, while the proxy has not enrolled.
    /// </summary>
    public async Task<string> EnrolledAddressAsync(string proxy) =>
        await AskAsync<object>(Topology.Proxy(proxy).AuthServer, new FindProxy(proxy)) switch
        {
            ProxyEnrolment enrolment => enrolment.Address,
            AdminRefused refused => throw new InvalidOperationException(refused.Reason),
            var other => throw new InvalidOperationException($"unexpected answer {other}"),
        };

    /// <summary>The user as registered at its home server, or null if it is not registered there.</summary>
    public async Task<UserView?> FindUserAsync(string user, string homeServer) =>
        await AskAsync<object>(homeServer, new FindUser(user)) as UserView;

    /// <summary>Revokes every certificate of <paramref name="user"/> at its home server: one persisted event.</summary>
    public async Task RevokeUserAsync(string user, string homeServer, string by = "operator")
    {
        switch (await AskAsync<object>(homeServer, new RevokeUser(user, by)))
        {
            case UserRevokedAck:
                return;
            case AdminRefused refused:
                throw new InvalidOperationException(refused.Reason);
            case var other:
                throw new InvalidOperationException($"unexpected answer {other}");
        }
    }

    /// <summary>Registers every user the topology lists, at its home server.</summary>
    public async Task<IReadOnlyList<UserEnrollment>> RegisterTopologyUsersAsync() =>
        await Task.WhenAll(Topology.Users.Select(u => RegisterUserAsync(u.Name, u.AuthServer)));
}
