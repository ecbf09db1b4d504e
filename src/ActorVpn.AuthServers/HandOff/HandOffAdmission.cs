namespace ActorVpn.AuthServers.HandOff;

/// <summary>
/// How many new hand-offs (Fig. 8, step 802 onwards) a home server starts for one user and for one
/// entry proxy: a token bucket each (<c>actorvpn.auth-server.admission</c>). A bucket holds up to
/// <c>Burst</c> tokens and refills at <c>PerSecond</c>; a hand-off takes one. So one profile
/// looping set-ups (or one proxy relaying a flood) cannot saturate the auth server and the hand-off
/// chain behind it, while other users keep their own buckets.
/// </summary>
public sealed record HandOffAdmissionLimits(double PerUserPerSecond, int PerUserBurst, double PerProxyPerSecond, int PerProxyBurst)
{
    /// <summary>The documented defaults (hocon/actorvpn.hocon).</summary>
    public static readonly HandOffAdmissionLimits Default = new(200, 400, 2000, 4000);
}

/// <summary>The buckets of one auth server; owned by its actor (not thread-safe), on the server's clock.</summary>
public sealed class HandOffAdmission(HandOffAdmissionLimits limits)
{
    /// <summary>Most buckets kept per kind; full ones (idle long enough) are forgotten first.</summary>
    public const int MaxBuckets = 100_000;

    private readonly Dictionary<string, Bucket> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Bucket> _proxies = new(StringComparer.Ordinal);

    /// <summary>Takes a token for a new hand-off of <paramref name="user"/> at <paramref name="proxy"/>, or says why not.</summary>
    public string? TryStart(string user, string proxy, DateTimeOffset now)
    {
        var byUser = BucketOf(_users, user, limits.PerUserBurst, now);
        var byProxy = BucketOf(_proxies, proxy, limits.PerProxyBurst, now);
        byUser.Refill(now, limits.PerUserPerSecond, limits.PerUserBurst);
        byProxy.Refill(now, limits.PerProxyPerSecond, limits.PerProxyBurst);
        if (byUser.Tokens < 1)
        {
            return $"too many set-ups for '{user}' (at most {limits.PerUserBurst} at once, {limits.PerUserPerSecond:0.##} per second); retry later";
        }

        if (byProxy.Tokens < 1)
        {
            return $"too many set-ups through {proxy} (at most {limits.PerProxyBurst} at once, {limits.PerProxyPerSecond:0.##} per second); retry later";
        }

        byUser.Tokens--;
        byProxy.Tokens--;
        return null;
    }

    private static Bucket BucketOf(Dictionary<string, Bucket> buckets, string key, int burst, DateTimeOffset now)
    {
        if (buckets.TryGetValue(key, out var bucket))
        {
            return bucket;
        }

        if (buckets.Count >= MaxBuckets)
        {
            // A bucket that has refilled is the same as no bucket: dropping those bounds the memory a flood of names can take.
            foreach (var full in buckets.Where(b => b.Value.Tokens >= burst).Select(b => b.Key).ToList())
            {
                buckets.Remove(full);
            }
        }

        return buckets[key] = new Bucket(burst, now);
    }

    private sealed class Bucket(double tokens, DateTimeOffset at)
    {
        public double Tokens { get; set; } = tokens;

        public void Refill(DateTimeOffset now, double perSecond, int burst)
        {
            if (now > at)
            {
                Tokens = Math.Min(burst, Tokens + ((now - at).TotalSeconds * perSecond));
                at = now;
            }
        }
    }
}
