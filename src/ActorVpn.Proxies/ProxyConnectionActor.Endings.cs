using ActorVpn.Observability.Metrics;
using ActorVpn.Observability.Tracing;
using ActorVpn.Protocol;
using ActorVpn.Wire;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.Proxies;

/// <summary>How a proxy connection ends before it relays: refused (Fig. 6, step 605), failed, or closed from outside (【0053】).</summary>
public sealed partial class ProxyConnectionActor
{
    private void UnexpectedFrame(FrameRead read, string expected) =>
        Refuse(ErrorCodes.ProtocolError, "Fig. 6", _proxy.Name, $"unexpected {read.Message.GetType().Name} while waiting for {expected}");

    private void OnLifetimeOver()
    {
        // actorvpn.data-plane.max-session-lifetime: the client must authenticate again (Fig. 6) on a new session.
        _log.Info("{0}: session {1} of {2} closed: its maximum lifetime of {3} is over (【0053】)", _proxy.Name, Counters.Id, Counters.User, _settings.MaxSessionLifetime);
        Context.Stop(Self);
    }

    /// <summary>
    /// 【0053】: the session is closed from outside (an operator, or a revocation of its user) before it relays. With a code, the
    /// reason goes into the audit trail, and a client still authenticating here, which is waiting for an answer, is refused with
    /// it (e.g. certificate-revoked) instead of finding its connection simply gone.
    /// </summary>
    private void OnCloseWhileHandshaking(CloseSession close)
    {
        _log.Info("{0}: session {1} closed at stage {2}: {3} (【0053】)", _proxy.Name, Counters.Id, _stage, close.Reason);
        if (close.Code is not { } code)
        {
            Context.Stop(Self);
            return;
        }

        Counters.Refused = true;
        _audit.Closed(code, close.At ?? _proxy.Name, close.Reason);
        if (_tls is null)
        {
            Context.Stop(Self);
            return;
        }

        Become(Closing);
        Write(new Refused(code, "【0053】", close.At ?? _proxy.Name, close.Reason), "【0053】", then: StopAfterRefusal);
    }

    /// <summary>Fig. 6 step 605 with a refusal: the client is told why (the handshake is not over: nothing relays yet).</summary>
    private void Refuse(string code, string step, string at, string message, string? verifiedUser = null)
    {
        Counters.Refused = true;
        VpnMetrics.HandshakeRefused(_proxy.Name, code);
        _hopSpan?.SetTag("avpn.error.at", at);
        Spans.Fail(_hopSpan, code, message);
        _audit.Refused(code, at, message, verifiedUser);
        _log.Info("{0}: refused session {1}: {2} at {3} ({4}): {5}", _proxy.Name, Counters.Id, code, at, step, message);
        if (_tls is null)
        {
            Context.Stop(Self);
            return;
        }

        Write(new Refused(code, step, at, message), step, then: StopAfterRefusal);
    }

    /// <summary>The refusal is written: the connection ends without a reset, so that it reaches the client (<see cref="PostStop"/>).</summary>
    private void StopAfterRefusal()
    {
        _refusalWritten = true;
        Context.Stop(Self);
    }

    /// <param name="failureKind">The metric's refusal reason for a failure that is not a bad frame: tls-handshake or unreachable.</param>
    private void Abort(string step, Exception cause, string failureKind)
    {
        var reason = cause is FrameException frame ? $"bad frame ({frame.Error}): {frame.Message}" : cause.Message;
        Counters.Refused = true;
        var why = cause is FrameException && failureKind != "tls-handshake" ? ErrorCodes.ProtocolError : failureKind;
        VpnMetrics.HandshakeRefused(_proxy.Name, why);
        Spans.Fail(_hopSpan, why, reason);
        _audit.Refused(cause is FrameException ? ErrorCodes.ProtocolError : ErrorCodes.Unreachable, _proxy.Name, $"{step}: {reason}");
        _log.Info("{0}: session {1} closed at {2} (stage {3}): {4}", _proxy.Name, Counters.Id, step, _stage, reason);
        if (cause is FrameException && _tls is not null)
        {
            Write(new Refused(ErrorCodes.ProtocolError, step, _proxy.Name, reason), step, then: StopAfterRefusal);
            return;
        }

        Context.Stop(Self);
    }
}
