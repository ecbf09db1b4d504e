using ActorVpn.Messaging;

namespace ActorVpn.Protocol;

/// <summary>Messages from a proxy to its own auth server (Fig. 6 steps 602-604, Fig. 7/8).</summary>
[WireName("ActorVpn.AuthServers.HandOff", "ActorVpn.AuthServers")]
public static class ClientAuthProtocol
{
    /// <summary>Fig. 6 step 603: the client's certificate 1, as presented in its TLS handshake at <paramref name="Proxy"/>.</summary>
    /// <param name="HandOffId">The hand-off the route came with; null at the entry proxy.</param>
    /// <param name="TraceParent">W3C trace context of the proxy's span of this hop (null: not traced).</param>
    public sealed record AuthenticateClient(string Proxy, byte[] UserCertificateDer, string Destination, string? HandOffId, string? SessionId = null,
        string? TraceParent = null) : IActorVpnMessage;

    /// <summary>Fig. 8 steps 810/811: authenticated.</summary>
    /// <param name="Route">At the entry proxy (home server), the relay proxies after it; empty elsewhere.</param>
    /// <param name="NextHop">The one proxy this proxy may connect onwards to; null when it is the exit proxy.</param>
    /// <param name="Destination">The destination's address, given to the exit proxy only.</param>
    /// <param name="AtHome">The user's home server answered (Fig. 8, yes-branch of 801): the proxy that asked is the
    /// session's entry proxy. Decided by the server from the certificate, never from what the client sent.</param>
    /// <param name="Steps">Answering a <see cref="TraceRoute"/>: every patent step of the hand-off, each server's as it reached them, in
    /// hand-off order, gathered on the reply path (Fig. 9, step 910); null for a client.</param>
    public sealed record ClientAuthenticated(
        string User,
        string HandOffId,
        IReadOnlyList<RouteEntry> Route,
        RouteEntry? NextHop,
        string? DestinationAddress,
        IReadOnlyList<string> HandOffPath,
        IReadOnlyList<string> Holders,
        bool AtHome = false,
        IReadOnlyList<HandOffStepReached>? Steps = null) : IActorVpnMessage;

    /// <summary>Fig. 7 step 704: refused.</summary>
    /// <param name="VerifiedUser">Set only when the home server verified the certificate as one it issued (the TLS handshake
    /// proved the key): the refusal is then this user's own attempt. Null for anything not verified, whose name is only a claim.</param>
    /// <param name="Steps">As in <see cref="ClientAuthenticated"/>: the steps up to the refusal.</param>
    public sealed record ClientRefused(HandOffError Error, IReadOnlyList<string> HandOffPath, string? VerifiedUser = null,
        IReadOnlyList<HandOffStepReached>? Steps = null) : IActorVpnMessage;

    /// <summary>
    /// An operator's route trace (an inspection): the home server runs the real hand-off for <paramref name="User"/> with a
    /// throw-away certificate it issues for this trace alone, never persisted and never one of the user's active certificates,
    /// so the user's state is untouched. Answered like <see cref="AuthenticateClient"/>.
    /// </summary>
    public sealed record TraceRoute(string User, string Destination) : IActorVpnMessage;

    /// <summary>The entry proxy's session ended: release whatever the hand-off still holds downstream (【0053】).</summary>
    public sealed record SessionEnded(string HandOffId) : IActorVpnMessage;

    /// <summary>
    /// The proxy connection <paramref name="SessionId"/> (<see cref="AuthenticateClient.SessionId"/>) stopped waiting for
    /// the answer (its ask timed out, or its client left): drop the request if still queued, release the hand-off if in flight.
    /// </summary>
    public sealed record ClientAbandoned(string SessionId) : IActorVpnMessage;
}
