using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.AuthServers.State;
using ActorVpn.Messaging;
using ActorVpn.Topology;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.AuthServers;

/// <summary>
/// The administrative commands an auth server decides on its state alone: the reply, and the events to persist before it
/// is sent (none for an inspection or a refusal). Commands that need the signing key (registration, credentials, enrolment)
/// are checked here first and carried out by the actor.
/// </summary>
public static class AdminCommands
{
    public sealed record Outcome(IActorVpnMessage Reply, IReadOnlyList<IAuthServerEvent> Events)
    {
        public static Outcome Answer(IActorVpnMessage reply) => new(reply, []);
    }

    /// <param name="rotating">This server is rotating its signing key (it has a new key for a credential to certify).</param>
    public static Outcome ProcessCommand(AuthServerState state, TopologyModel topology, IActorVpnMessage command, DateTimeOffset now, bool rotating) => command switch
    {
        RevokeUser revoke when !state.Users.ContainsKey(revoke.User) => Outcome.Answer(new AdminRefused($"user '{revoke.User}' is not registered at {state.Name}")),
        RevokeUser revoke => new Outcome(new UserRevokedAck(revoke.User), [new UserRevoked(revoke.User, now, revoke.By)]),
        AcceptPeerCredential { ForNextKey: true } accept when !rotating => Outcome.Answer(new AdminRefused(
            $"{state.Name} is not rotating its signing key: it has no new key for a credential from {accept.Issuer} to certify")),
        AcceptPeerCredential accept => new Outcome(new PeerCredentialAccepted(accept.Issuer), [new PeerCredentialReceived(accept.Issuer, accept.CertificateDer, accept.ForNextKey)]),
        FindUser find => Outcome.Answer(state.Users.TryGetValue(find.User, out var user)
            ? ViewOf(user)
            : new AdminRefused($"user '{find.User}' is not registered at {state.Name}")),
        FindProxy find => Outcome.Answer(state.Proxies.TryGetValue(find.Proxy, out var enrolled) && topology.HasProxy(find.Proxy)
            ? new ProxyEnrolment(find.Proxy, enrolled.ListenAddress ?? topology.Proxy(find.Proxy).Listen.ToString())
            : new AdminRefused($"proxy '{find.Proxy}' has not enrolled with {state.Name} (not started, or its node is down)")),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "not decided on the state alone"),
    };

    /// <summary>Why a command that needs the signing key is refused before it is carried out; null: carry it out.</summary>
    public static AdminRefused? Refusal(AuthServerState state, AuthServerSpec spec, TopologyModel topology, IActorVpnMessage command) => command switch
    {
        RegisterUser register when !TopologyLoader.IsValidName(register.User) => new AdminRefused($"'{register.User}' is not a valid user name (letters, digits, '-' and '_')"),
        IssuePeerCredential issue when !spec.Trusts.Contains(issue.Caller) => new AdminRefused($"{state.Name} does not trust {issue.Caller} (not in its 'trusts' list)"),
        EnrollProxy enroll when !topology.HasProxy(enroll.Proxy) || topology.Proxy(enroll.Proxy).AuthServer != state.Name =>
            new AdminRefused($"proxy '{enroll.Proxy}' does not belong to {state.Name}"),
        _ => KeyRotationCommands.Refusal(state, topology, command) is { } rotation ? new AdminRefused(rotation) : null,
    };

    /// <summary>Everything an operator sees of one auth server (<c>auth show</c>): its tables, its durable state and what it holds now.</summary>
    public static AuthServerStatus Status(AuthServerState state, AuthServerSpec spec, IEnumerable<AuthServerSpec> members, HandOffLedger ledger, int pendingHandOffs) => new(
        state.Name,
        spec.Parent,
        members.Select(m => m.Name).ToList(),
        spec.Routes.ToDictionary(r => r.Key, r => r.Value.ToString()!),
        spec.Relays.ToDictionary(r => r.Key, r => r.Value),
        state.CredentialsIssued.Keys.ToList(),
        state.CredentialsHeld.Keys.ToList(),
        state.Users.Values.Select(ViewOf).ToList(),
        ledger.Held.Values.OrderBy(h => h.HeldSince).ThenBy(h => h.HandOffId, StringComparer.Ordinal)
            .Select(h => new HeldCertificateView(h.HandOffId, h.User, h.Destination, h.RelayProxy, h.HeldSince, h.ExpiresAt)).ToList(),
        pendingHandOffs,
        state.Proxies.ToDictionary(p => p.Key, p => p.Value.Pin));

    public static UserView ViewOf(UserRecord user) => new(user.Name, user.RegisteredAt, user.RevokedAt, user.ActiveSerials.Count);
}
