using ActorVpn.Messaging;

namespace ActorVpn.Proxies;

/// <summary>Messages a proxy actor answers.</summary>
public static class ProxyProtocol
{
    /// <summary>Answered with <see cref="ProxyListening"/> once the proxy is enrolled and accepting connections.</summary>
    public sealed record AwaitListening : IActorVpnMessage
    {
        public static readonly AwaitListening Instance = new();
    }

    public sealed record ProxyListening(string Proxy, string Address) : IActorVpnMessage;

    /// <summary>
    /// Answered with <see cref="ProxyEnrolmentState"/> at once, also while the proxy is still enrolling (when
    /// <see cref="AwaitListening"/> waits): asked on the proxy's own node by whoever gave up waiting for it.
    /// </summary>
    public sealed record GetEnrolmentState
    {
        public static readonly GetEnrolmentState Instance = new();
    }

    /// <summary>How far a proxy got in getting its identity from <paramref name="AuthServer"/>.</summary>
    /// <param name="FailedAttempts">Requests refused or unanswered within their timeout so far.</param>
    /// <param name="LastFailure">Why the last of them failed, or null.</param>
    /// <param name="SinceLastRequest">How long the request in flight has been waiting for its answer.</param>
    public sealed record ProxyEnrolmentState(string Proxy, string AuthServer, bool Listening, int FailedAttempts, string? LastFailure, TimeSpan SinceLastRequest)
    {
        public string Describe() =>
            Listening ? $"proxy {Proxy} is listening"
            : FailedAttempts == 0 ? $"proxy {Proxy} has no identity from {AuthServer} yet: its first request is unanswered after {SinceLastRequest.TotalSeconds:0.#} s ({AuthServer} not reachable from this node: is its group's singleton running?)"
            : $"proxy {Proxy} has no identity from {AuthServer} yet: {FailedAttempts} request(s) failed, the last with: {LastFailure}";
    }

    public sealed record GetProxyStatus : IActorVpnMessage
    {
        public static readonly GetProxyStatus Instance = new();
    }

    /// <summary>One connection through this proxy, as an operator sees it.</summary>
    /// <param name="ServerName">The server name (SNI) the client's TLS handshake asked this proxy for.</param>
    public sealed record ProxySessionView(string Id, string? User, string? HandOffId, string Stage, string? OnwardTo, long BytesIn, long BytesOut, DateTimeOffset Since,
        string? ServerName = null) : IActorVpnMessage;

    public sealed record ProxyStatus(string Proxy, string AuthServer, string Address, long Accepted, long Refused, long BytesRelayed, IReadOnlyList<ProxySessionView> Sessions) : IActorVpnMessage;

    /// <summary>
    /// Published on the event stream when a proxy's TLS identity was renewed before it expired: new
    /// connections get the new certificate, for the same key (so the pin routes vouch for is unchanged).
    /// </summary>
    public sealed record ProxyIdentityRenewed(string Proxy, DateTimeOffset PreviousNotAfter, DateTimeOffset NotAfter) : IActorVpnMessage;

    /// <summary>
    /// Renew the identity now, not at its renewal time: after its auth server's signing-key rotation finished, so that the
    /// proxy presents an identity of the one key left. Answered with <see cref="ProxyIdentityRenewed"/>, or with the refusal.
    /// </summary>
    public sealed record RenewProxyIdentity : IActorVpnMessage
    {
        public static readonly RenewProxyIdentity Instance = new();
    }

    /// <summary>Closes every connection of a hand-off (【0053】), e.g. when its user is revoked or an operator kills it.</summary>
    /// <param name="Code">An error code (contract) when the session ends for a reason its client and the audit trail should see,
    /// e.g. certificate-revoked; a connection still authenticating is then refused with it. Null: closed without a refusal.</param>
    /// <param name="At">The auth server the reason comes from (the error's <c>at</c>).</param>
    public sealed record CloseSession(string HandOffId, string Reason, string? Code = null, string? At = null) : IActorVpnMessage;

    /// <summary>Closes every connection of <paramref name="User"/> at this proxy, relaying or still authenticating (a revocation, 【0053】).</summary>
    public sealed record CloseUserSessions(string User, string Reason, string? Code = null, string? At = null) : IActorVpnMessage;
}
