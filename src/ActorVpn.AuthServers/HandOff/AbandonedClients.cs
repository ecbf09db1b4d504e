namespace ActorVpn.AuthServers.HandOff;

/// <summary>
/// Which proxy connections stopped waiting for their auth server's answer (the proxy's ask timed
/// out, or its client left), so the server neither starts nor keeps a hand-off no one will use:
/// a request still queued is dropped on arrival, and one in flight is released at once along the
/// chain (【0053】) instead of holding certificate 1 at every server until the hold timeout.
/// Owned by the auth-server actor (not thread-safe); entries expire, so it stays small.
/// </summary>
public sealed class AbandonedClients(TimeSpan remember)
{
    private readonly Dictionary<string, (string HandOffId, DateTimeOffset Until)> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _abandoned = new(StringComparer.Ordinal);

    /// <summary>A hand-off started for the proxy connection <paramref name="sessionId"/>.</summary>
    public void Started(string? sessionId, string handOffId, DateTimeOffset now)
    {
        if (sessionId is not null)
        {
            _inFlight[sessionId] = (handOffId, now + remember);
        }
    }

    /// <summary>Has that proxy connection given up (so its request is not worth handling)?</summary>
    public bool IsAbandoned(string? sessionId) => sessionId is not null && _abandoned.ContainsKey(sessionId);

    /// <summary>The proxy connection gave up: the hand-off to release if one is in flight for it.</summary>
    public string? Abandon(string sessionId, DateTimeOffset now)
    {
        _abandoned[sessionId] = now + remember;
        return _inFlight.Remove(sessionId, out var started) ? started.HandOffId : null;
    }

    public void Sweep(DateTimeOffset now)
    {
        foreach (var (session, _) in _inFlight.Where(e => e.Value.Until <= now).ToList())
        {
            _inFlight.Remove(session);
        }

        foreach (var (session, _) in _abandoned.Where(e => e.Value <= now).ToList())
        {
            _abandoned.Remove(session);
        }
    }
}
