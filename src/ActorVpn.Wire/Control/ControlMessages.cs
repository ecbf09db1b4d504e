using System.Text.Json.Serialization;

namespace ActorVpn.Wire;

/// <summary>
/// A message of the control protocol spoken between a client and a proxy before relaying
/// (patent Fig. 5 steps 503–507, Fig. 6 steps 601–608). On the wire each message is one frame
/// (see <see cref="FrameCodec"/>); the frame's type byte selects the record.
/// </summary>
public abstract record ControlMessage;

/// <summary>One relay proxy of the route. <paramref name="Pin"/> = base64 SHA-256 of the proxy certificate's SPKI.</summary>
public sealed record RouteHop(string Proxy, string Address, string Pin);

/// <summary>Fig. 5 step 503 / Fig. 6 step 601: the client asks to be authenticated (its certificate travels in TLS).</summary>
/// <param name="TraceParent">Optional W3C trace context of the client's span of this hop, so the proxy's and the auth servers'
/// spans join the client's trace. Left out of the frame when null, so a proxy that predates it reads the frame as before; a
/// proxy ignores a value that is not a well-formed <c>traceparent</c> (a new trace starts there), and refuses an oversized one.</param>
public sealed record AuthRequest(
    string Destination,
    string? HandOffId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TraceParent = null) : ControlMessage;

/// <summary>
/// Fig. 6 step 605: the proxy tells the client the authentication succeeded.
/// <paramref name="Route"/> = the relay proxies after this one (non-empty only at the entry proxy);
/// <paramref name="NextHop"/> = the proxy this proxy may connect onwards to, or null at the exit proxy.
/// </summary>
public sealed record AuthAccepted(string HandOffId, IReadOnlyList<RouteHop> Route, string? NextHop) : ControlMessage;

/// <summary>Fig. 5 step 506 / Fig. 6 step 607: connect onwards to the next proxy.</summary>
public sealed record ConnectOnwards(string Proxy) : ControlMessage;

/// <summary>Fig. 5 step 507: the exit proxy connects to the destination.</summary>
public sealed record ConnectDestination(string Destination) : ControlMessage;

/// <summary>Fig. 6 step 608 succeeded: the onward connection to <paramref name="To"/> is up; raw relaying starts after this frame.</summary>
public sealed record Connected(string To) : ControlMessage;

/// <summary>Any failure (【0053】): a code, the patent step, the hop where it happened and a human-readable message.</summary>
public sealed record Refused(string Code, string Step, string At, string Message) : ControlMessage;
