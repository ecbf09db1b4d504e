using ActorVpn.Messaging;

namespace ActorVpn.Protocol;

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
        HandOffId HandOffId,
        byte[] UserCertificateDer,
        UserName User,
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
        var text = string.Join('\n', "actorvpn/handoff/v1", callee, request.Caller, request.HandOffId.Value, request.User.Value,
            request.Destination, string.Join(',', request.Path), Convert.ToBase64String(certificateHash));
        return System.Text.Encoding.UTF8.GetBytes(text);
    }
}
