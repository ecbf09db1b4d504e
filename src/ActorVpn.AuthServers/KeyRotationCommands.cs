using ActorVpn.AuthServers.State;
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
}
