namespace ActorVpn.Wire.Admission;

/// <summary>
/// Logs refused connections at most once per <see cref="Interval"/>, with how many were refused
/// since the last line: a flood must not turn into a flood of log lines. Used by one actor (not thread-safe).
/// </summary>
public sealed class RefusalLog(Action<string> log)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private long _since;
    private DateTime _last = DateTime.MinValue;

    public long Total { get; private set; }

    public void Refused(string why)
    {
        Total++;
        _since++;
        var now = DateTime.UtcNow;
        if (now - _last < Interval)
        {
            return;
        }

        log($"refused {_since} connection(s) before authentication ({why}); {Total} in all");
        _since = 0;
        _last = now;
    }
}
