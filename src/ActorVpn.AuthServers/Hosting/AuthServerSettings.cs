using ActorVpn.AuthServers.HandOff;
using ActorVpn.AuthServers.State;
using Akka.Configuration;

namespace ActorVpn.AuthServers.Hosting;

/// <summary>The <c>actorvpn.auth-server</c> section of the HOCON configuration.</summary>
public sealed record AuthServerSettings(
    TimeSpan HandOffTimeout,
    TimeSpan HoldTimeout,
    TimeSpan ChallengeTimeout,
    TimeSpan UserCertificateLifetime,
    TimeSpan PeerCredentialLifetime,
    TimeProvider Clock)
{
    /// <summary>Protects the signing key at rest; null: the key is journalled unprotected (in-memory store).</summary>
    public KeyProtection? KeyProtection { get; init; }

    /// <summary>
    /// How long before they expire proxy identities and inter-server credentials are renewed
    /// (<c>credential-renew-before</c>): from then on old and new are both accepted until the old expires.
    /// </summary>
    public TimeSpan CredentialRenewBefore { get; init; } = DefaultRenewBefore;

    public static readonly TimeSpan DefaultRenewBefore = TimeSpan.FromDays(30);

    /// <summary>When a snapshot of the state is taken (<c>snapshot-every</c>, <c>snapshot-every-user-fraction</c>).</summary>
    public SnapshotPolicy Snapshots { get; init; } = SnapshotPolicy.Default;

    /// <summary>Who may send administrative messages; null: anyone (a single process, whose senders are all its own).</summary>
    public AdminAdmission? Admission { get; init; }

    /// <summary>How many new hand-offs one user and one entry proxy may start (<c>admission</c>).</summary>
    public HandOffAdmissionLimits HandOffAdmission { get; init; } = HandOffAdmissionLimits.Default;

    public static readonly AuthServerSettings Default = new(
        HandOffTimeout: TimeSpan.FromSeconds(5),
        HoldTimeout: TimeSpan.FromSeconds(30),
        ChallengeTimeout: TimeSpan.FromSeconds(10),
        UserCertificateLifetime: TimeSpan.FromDays(365),
        PeerCredentialLifetime: TimeSpan.FromDays(365),
        Clock: TimeProvider.System);

    public static AuthServerSettings FromConfig(Config config, TimeProvider? clock = null)
    {
        var section = config.GetConfig("actorvpn.auth-server");
        if (section is null || section.IsEmpty)
        {
            return Default with { Clock = clock ?? TimeProvider.System };
        }

        var lifetime = Positive(section, "peer-credential-lifetime", Default.PeerCredentialLifetime);
        var renewBefore = Positive(section, "credential-renew-before", DefaultRenewBefore);
        if (renewBefore >= lifetime)
        {
            // Renewal would start before the credential is even issued, and never stop.
            throw new ConfigurationException(
                $"actorvpn.auth-server.credential-renew-before ({section.GetString("credential-renew-before")}) must be shorter than peer-credential-lifetime ({section.GetString("peer-credential-lifetime")})");
        }

        return new AuthServerSettings(
            Positive(section, "handoff-timeout", Default.HandOffTimeout),
            Positive(section, "hold-timeout", Default.HoldTimeout),
            Positive(section, "challenge-timeout", Default.ChallengeTimeout),
            Positive(section, "user-certificate-lifetime", Default.UserCertificateLifetime),
            lifetime,
            clock ?? TimeProvider.System)
        {
            CredentialRenewBefore = renewBefore,
            Snapshots = new SnapshotPolicy(
                section.GetInt("snapshot-every", SnapshotPolicy.Default.MinimumEvents) is > 0 and var every
                    ? every
                    : throw new ConfigurationException($"actorvpn.auth-server.snapshot-every must be a positive number, not '{section.GetString("snapshot-every")}'"),
                section.GetDouble("snapshot-every-user-fraction", SnapshotPolicy.Default.UserFraction) is >= 0 and <= 10 and var fraction
                    ? fraction
                    : throw new ConfigurationException($"actorvpn.auth-server.snapshot-every-user-fraction must be a number from 0 to 10, not '{section.GetString("snapshot-every-user-fraction")}'")),
            HandOffAdmission = new HandOffAdmissionLimits(
                Rate(section, "admission.per-user-per-second", HandOffAdmissionLimits.Default.PerUserPerSecond),
                Burst(section, "admission.per-user-burst", HandOffAdmissionLimits.Default.PerUserBurst),
                Rate(section, "admission.per-proxy-per-second", HandOffAdmissionLimits.Default.PerProxyPerSecond),
                Burst(section, "admission.per-proxy-burst", HandOffAdmissionLimits.Default.PerProxyBurst)),
        };
    }

    private static double Rate(Config section, string key, double fallback) =>
        section.GetDouble(key, fallback) is > 0 and var rate
            ? rate
            : throw new ConfigurationException($"actorvpn.auth-server.{key} must be a positive number, not '{section.GetString(key)}'");

    private static int Burst(Config section, string key, int fallback) =>
        section.GetInt(key, fallback) is >= 1 and var burst
            ? burst
            : throw new ConfigurationException($"actorvpn.auth-server.{key} must be at least 1, not '{section.GetString(key)}'");

    private static TimeSpan Positive(Config section, string key, TimeSpan fallback)
    {
        var value = section.GetTimeSpan(key, fallback, allowInfinite: false);
        return value > TimeSpan.Zero
            ? value
            : throw new ConfigurationException($"actorvpn.auth-server.{key} must be a positive duration, not '{section.GetString(key)}'");
    }
}
