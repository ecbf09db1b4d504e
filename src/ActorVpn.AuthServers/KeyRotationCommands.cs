using System.Security.Cryptography;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Messaging;
using ActorVpn.Topology;
using static ActorVpn.AuthServers.KeyRotationProtocol;

namespace ActorVpn.AuthServers;

/// <summary>
/// What the phases of a signing-key rotation (<see cref="KeyRotationProtocol"/>) decide on the state alone: whether a command
/// may move the rotation on, and the event that does. Creating the new key is left to the actor (it needs a random key).
/// </summary>
public static class KeyRotationCommands
{
    /// <summary>Why <paramref name="command"/> cannot move the rotation on now; null: it can.</summary>
    public static string? Refusal(AuthServerState state, TopologyModel topology, IActorVpnMessage command) => command switch
    {
        StartKeyRotation when state.Rotation is { } rotation =>
            $"{state.Name} is already rotating its signing key (phase {rotation.Phase} since {rotation.SwitchedAt ?? rotation.StartedAt:u}): " +
            (rotation.Phase == RotationPhase.Started ? $"next is `auth rotate {state.Name} switch`" : $"next is `auth rotate {state.Name} finish`") +
            $", or `auth rotate {state.Name} rollback`",
        // Once switched, this server proves its identity with its new key: every server it may call must accept that key first.
        SwitchSigningKey => PhaseProblem(state, RotationPhase.Started, "switch") ?? (MissingNextCredentials(state, topology) is { Count: > 0 } missing
            ? $"{state.Name} holds no credential for its new key from {string.Join(", ", missing)} yet (【0023】): " +
              $"they must answer before {state.Name} can switch; run `auth rotate {state.Name} switch` again once they do"
            : null),
        FinishKeyRotation => PhaseProblem(state, RotationPhase.Switched, "finish"),
        RollBackKeyRotation when state.Rotation is null => $"{state.Name} is not rotating its signing key: there is nothing to roll back",
        _ => null,
    };

    /// <summary>The event of a phase command that <see cref="Refusal"/> let through, and the line the log keeps of it.</summary>
    public static (IAuthServerEvent Event, string LogLine) PhaseEvent(string me, IActorVpnMessage command, DateTimeOffset now) => command switch
    {
        SwitchSigningKey switching => (new SigningKeySwitched(now, switching.By), $"{me}: switched to its new signing key ({switching.By}); the old one still verifies"),
        FinishKeyRotation finish => (new KeyRotationFinished(now, finish.By), $"{me}: signing-key rotation finished ({finish.By}); the old key is retired"),
        RollBackKeyRotation rollback => (new KeyRotationRolledBack(now, rollback.By), $"{me}: signing-key rotation rolled back ({rollback.By}); the new key is dropped"),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "not a phase command"),
    };

    /// <summary>Servers that trust this one (【0023】: they issued it a credential) and have not issued one for its new key.</summary>
    public static List<string> MissingNextCredentials(AuthServerState state, TopologyModel topology) =>
        state.Rotation is null
            ? []
            : topology.AuthServers.Where(a => a.Trusts.Contains(state.Name) && !state.CredentialsHeldNext.ContainsKey(a.Name)).Select(a => a.Name).ToList();

    private static string? PhaseProblem(AuthServerState state, string expected, string command) => state.Phase == expected
        ? null
        : state.Phase switch
        {
            RotationPhase.Standby => $"{state.Name} is not rotating its signing key: begin with `auth rotate {state.Name} start`",
            RotationPhase.Started => $"{state.Name} has not switched to its new key yet: `auth rotate {state.Name} switch` comes before `{command}`",
            _ => $"{state.Name} has already switched to its new key (at {state.Rotation?.SwitchedAt:u}): next is `auth rotate {state.Name} finish`, or `auth rotate {state.Name} rollback`",
        };

    /// <summary>What an operator sees of the rotation (<c>auth rotate NAME status</c>): the keys by fingerprint, and what a finish would leave behind.</summary>
    public static KeyRotationStatus Status(AuthServerState state, TopologyModel topology, SigningKeys keys, DateTimeOffset now)
    {
        var rotation = state.Rotation;
        var proxiesOnOldKey = state.Proxies.Values
            .Where(p => keys.Current.Verify(KnownCertificate.Read(p.CertificateDer), CertificateKind.Proxy, now) == CertificateVerdict.NotIssuedHere)
            .Select(p => p.Proxy).ToList();
        // Users registered before the switch hold a certificate of the key being retired: refused once the rotation finishes.
        var toEnrolAgain = rotation is null ? 0 : state.Users.Values.Count(u => u.RevokedAt is null && u.ActiveSerials.Count > 0
            && (rotation.SwitchedAt is not { } switchedAt || u.RegisteredAt < switchedAt));
        return new KeyRotationStatus(state.Name, state.Phase, Fingerprint(keys.Current.Certificate.RawData), keys.Next is null ? null : Fingerprint(keys.Next.Certificate.RawData),
            rotation?.StartedAt, rotation?.StartedBy, rotation?.SwitchedAt, rotation?.SwitchedBy,
            state.Retired.Select(r => Fingerprint(r.CertificateDer)).ToList(), state.Retired.LastOrDefault()?.RetiredAt,
            proxiesOnOldKey, toEnrolAgain, MissingNextCredentials(state, topology));
    }

    private static string Fingerprint(byte[] der) => Convert.ToHexString(SHA256.HashData(der)).ToLowerInvariant();
}
