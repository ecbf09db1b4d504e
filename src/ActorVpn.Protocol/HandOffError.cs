namespace ActorVpn.Protocol;

/// <summary>Why a hand-off or an authentication failed, where, and at which patent step.</summary>
/// <param name="Code">One of <see cref="ErrorCodes"/>.</param>
/// <param name="At">The auth server where it failed.</param>
/// <param name="Step">The patent step, e.g. "Fig. 9, step 903".</param>
public sealed record HandOffError(string Code, string At, string Step, string Message)
{
    public override string ToString() => $"{Code} at {At} ({Step}): {Message}";
}
