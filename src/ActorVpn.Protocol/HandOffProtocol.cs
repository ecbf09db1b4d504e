using ActorVpn.Messaging;

namespace ActorVpn.Protocol;

/// <summary>A relay proxy on the route, as vouched for by the auth server that manages it (Fig. 3).</summary>
/// <param name="Pin">base64 SHA-256 of the proxy certificate's SPKI, issued by <paramref name="AuthServer"/>;
/// never null from an auth server, which puts no proxy that has not enrolled on a route (Fig. 9 step 910: it fails
/// the hand-off with <c>unreachable</c> instead); a client still refuses a hop without one.</param>
[WireName("ActorVpn.AuthServers.HandOff", "ActorVpn.AuthServers")]
public sealed record RouteEntry(string Proxy, string AuthServer, string Address, string? Pin) : IActorVpnMessage;

/// <summary>
/// Messages between auth servers: the certificate hand-off of Fig. 9, as a challenge/response so
/// that every inter-server call proves possession of the key its credential certifies (【0023】).
/// </summary>
[WireName("ActorVpn.AuthServers.HandOff", "ActorVpn.AuthServers")]
public static class HandOffProtocol
{
    /// <summary>Fig. 8 step 805 / Fig. 9 step 905: "I am <paramref name="Caller"/>, here is the credential you issued me".</summary>
    /// <param name="TraceParent">W3C trace context of the caller's span of this hand-off (null: not traced); a peer's value, validated before use.</param>
    /// <param name="Traced">An operator's route trace: the callee returns the patent steps it reaches with each answer (see <see cref="StepTrail"/>).</param>
    public sealed record OpenHandOff(string Caller, byte[]? CredentialDer, string HandOffId, string? TraceParent = null, bool Traced = false) : IActorVpnMessage;

    /// <summary>Fig. 9 step 906 seen from the callee: the credential is one it issued; prove possession over this nonce.</summary>
    /// <param name="Steps">Of a traced hand-off: the steps the callee reached on the way to this challenge (Fig. 7, steps 701-702); else null.</param>
    public sealed record HandOffChallenge(string Callee, byte[] Nonce, IReadOnlyList<HandOffStepReached>? Steps = null) : IActorVpnMessage;

    /// <summary>Fig. 8 step 808 / Fig. 9 step 908: certificate 1, with a proof over the nonce bound to this very request.</summary>
    /// <param name="Path">The auth servers the certificate visited so far, the caller last (route-loop detection).</param>
    /// <param name="Budget">How long the callee has to answer, so the deepest waiting server times out first.</param>
    /// <param name="TraceParent">W3C trace context of the caller's span, as in <see cref="OpenHandOff"/>; not part of the proof's binding.</param>
    /// <param name="Traced">As in <see cref="OpenHandOff"/>; not part of the proof's binding (it changes only what the answer reports).</param>
    public sealed record HandOffCertificate(
        string Caller,
        string HandOffId,
        byte[] UserCertificateDer,
        string User,
        string Destination,
        IReadOnlyList<string> Path,
        byte[] Nonce,
        byte[] Proof,
        TimeSpan Budget,
        string? TraceParent = null,
        bool Traced = false) : IActorVpnMessage;

    /// <summary>Fig. 9 step 910: the relay route from the callee on, aggregated on the way back.</summary>
    /// <param name="Route">Relay proxies in route order, the callee's own (if any) first.</param>
    /// <param name="Path">The whole hand-off path, home server first.</param>
    /// <param name="Holders">Servers that now hold certificate 1, in route order.</param>
    /// <param name="Steps">Of a traced hand-off: the patent steps from the callee on, aggregated on the way back like the route; else null.</param>
    public sealed record HandOffRouted(
        IReadOnlyList<RouteEntry> Route,
        IReadOnlyList<string> Path,
        IReadOnlyList<string> Holders,
        IReadOnlyList<HandOffStepReached>? Steps = null) : IActorVpnMessage;

    /// <summary>The hand-off failed; every server on the reply path releases what it held (【0053】).</summary>
    /// <param name="Steps">As in <see cref="HandOffRouted"/>: the steps up to the failure.</param>
    public sealed record HandOffFailed(HandOffError Error, IReadOnlyList<string> Path, IReadOnlyList<HandOffStepReached>? Steps = null) : IActorVpnMessage;

    /// <summary>The binding a proof signs: callee, caller, hand-off, destination, certificate and path.</summary>
    public static byte[] ProofBinding(string callee, HandOffCertificate request)
    {
        var certificateHash = System.Security.Cryptography.SHA256.HashData(request.UserCertificateDer);
        var text = string.Join('\n', "actorvpn/handoff/v1", callee, request.Caller, request.HandOffId, request.User,
            request.Destination, string.Join(',', request.Path), Convert.ToBase64String(certificateHash));
        return System.Text.Encoding.UTF8.GetBytes(text);
    }
}

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

/// <summary>Release whatever is held or pending for a hand-off (【0053】); forwarded down the chain.</summary>
/// <param name="RevokedUser">Set when the hand-off ends because its user was revoked at the home server: a hop that still
/// comes for it is refused with certificate-revoked.</param>
[WireName("ActorVpn.AuthServers", "ActorVpn.AuthServers")]
public sealed record ReleaseHandOff(string HandOffId, string? RevokedUser = null) : IActorVpnMessage;
