namespace ActorVpn.Protocol;

/// <summary>
/// Every error code of the contract (<c>route trace --json</c>, README "Errors"), shared by every layer: the auth servers,
/// the proxies and the client refuse with these, never with a string typed again.
/// </summary>
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

    /// <summary>A peer (client, proxy) sent a frame that is malformed, oversized, or not the one expected at this point.</summary>
    public const string ProtocolError = "protocol-error";

    /// <summary>The codes a hand-off can fail with: those a route trace reports.</summary>
    public static readonly IReadOnlyList<string> HandOff =
    [
        UnknownUser, UnknownDestination, NoRoute, UntrustedPeer, RouteLoop,
        CertificateRevoked, CertificateExpired, Timeout, Unreachable,
    ];

    /// <summary>Every code: the hand-off codes and those of the data path.</summary>
    public static readonly IReadOnlyList<string> All = [.. HandOff, ProtocolError];
}
