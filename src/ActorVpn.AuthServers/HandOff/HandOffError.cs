namespace ActorVpn.AuthServers.HandOff;

/// <summary>The hand-off error codes (<c>route trace --json</c>, README "Errors"), shared by every layer.</summary>
public static class ErrorCodes
{
    public const string UnknownUser = "unknown-user";
    public const string UnknownDestination = "unknown-destination";
    public const string NoRoute = "no-route";
    public const string UntrustedPeer = "untrusted-peer";
    public const string RouteLoop = "route-loop";
    public const string CertificateRevoked = "certificate-revoked";
    public const string CertificateExpired = "certificate-expired";
    public const string Timeout = "timeout";
    public const string Unreachable = "unreachable";

    public static readonly IReadOnlyList<string> All =
    [
        UnknownUser, UnknownDestination, NoRoute, UntrustedPeer, RouteLoop,
        CertificateRevoked, CertificateExpired, Timeout, Unreachable,
    ];
}

/// <summary>Why a hand-off or an authentication failed, where, and at which patent step.</summary>
/// <param name="Code">One of <see cref="ErrorCodes"/>.</param>
/// <param name="At">The auth server where it failed.</param>
/// <param name="Step">The patent step, e.g. "Fig. 9, step 903".</param>
public sealed record HandOffError(string Code, string At, string Step, string Message)
{
    public override string ToString() => $"{Code} at {At} ({Step}): {Message}";
}
