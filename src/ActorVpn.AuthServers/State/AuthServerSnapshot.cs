using System.Collections.Immutable;
using ActorVpn.Messaging;

namespace ActorVpn.AuthServers.State;

/// <summary>
/// An auth server's durable state as one snapshot (every <c>snapshot-every</c> events), so a server
/// with 100,000 users recovers from the latest snapshot plus a few events instead of replaying all.
/// Plain lists: the JSON form does not depend on a dictionary's comparer.
/// </summary>
[PersistedAs("as-snapshot")]
public sealed record AuthServerSnapshot(
    string Name,
    AuthorityCreated? Authority,
    IReadOnlyList<UserRecord> Users,
    IReadOnlyList<PeerCredentialIssued> CredentialsIssued,
    IReadOnlyList<PeerCredentialReceived> CredentialsHeld,
    IReadOnlyList<ProxyEnrolled> Proxies,
    KeyRotationState? Rotation = null,
    IReadOnlyList<RetiredAnchor>? Retired = null,
    IReadOnlyList<PeerCredentialIssued>? CredentialsIssuedNext = null,
    IReadOnlyList<PeerCredentialReceived>? CredentialsHeldNext = null) : IActorVpnMessage
{
    public static AuthServerSnapshot Of(AuthServerState state) => new(
        state.Name,
        state.Authority,
        state.Users.Values.ToList(),
        state.CredentialsIssued.Select(c => new PeerCredentialIssued(c.Key, c.Value)).ToList(),
        state.CredentialsHeld.Select(c => new PeerCredentialReceived(c.Key, c.Value)).ToList(),
        state.Proxies.Values.ToList(),
        state.Rotation,
        state.Retired,
        state.CredentialsIssuedNext.Select(c => new PeerCredentialIssued(c.Key, c.Value, ForNextKey: true)).ToList(),
        state.CredentialsHeldNext.Select(c => new PeerCredentialReceived(c.Key, c.Value, ForNextKey: true)).ToList());

    public AuthServerState ToState() => AuthServerState.Empty(Name) with
    {
        Authority = Authority,
        Users = Users.ToImmutableSortedDictionary(u => u.Name, u => u, StringComparer.Ordinal),
        CredentialsIssued = CredentialsIssued.ToImmutableSortedDictionary(c => c.Peer, c => c.CertificateDer, StringComparer.Ordinal),
        CredentialsHeld = CredentialsHeld.ToImmutableSortedDictionary(c => c.Issuer, c => c.CertificateDer, StringComparer.Ordinal),
        Proxies = Proxies.ToImmutableSortedDictionary(p => p.Proxy, p => p, StringComparer.Ordinal),
        // Snapshots written before key rotation existed hold none of these.
        Rotation = Rotation,
        Retired = Retired?.ToImmutableList() ?? [],
        CredentialsIssuedNext = (CredentialsIssuedNext ?? []).ToImmutableSortedDictionary(c => c.Peer, c => c.CertificateDer, StringComparer.Ordinal),
        CredentialsHeldNext = (CredentialsHeldNext ?? []).ToImmutableSortedDictionary(c => c.Issuer, c => c.CertificateDer, StringComparer.Ordinal),
    };
}
