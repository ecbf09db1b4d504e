using ActorVpn.Wire.Admission;
using Akka.Configuration;

namespace ActorVpn.Proxies;

/// <summary>The <c>actorvpn.data-plane</c> section of the HOCON configuration.</summary>
/// <param name="Admission">What a proxy admits before the client has authenticated (<c>admission</c>, <c>pre-auth-timeout</c>); null: the defaults.</param>
public sealed record DataPlaneSettings(TimeSpan HandshakeTimeout, TimeSpan ConnectTimeout, TimeSpan AuthTimeout, AdmissionLimits? Admission = null)
{
    /// <summary>
    /// How long an authenticated session may last before the proxy closes it and the client must
    /// authenticate again (<c>max-session-lifetime</c>); zero: no limit (the default).
    /// </summary>
    public TimeSpan MaxSessionLifetime { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// How long a proxy that refused a client waits for the client to close the connection, after sending the refusal and ending
    /// its own side, before it resets the connection (<c>refusal-linger</c>). Closing at once could reset the refusal away.
    /// </summary>
    public TimeSpan RefusalLinger { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The admission limits in force.</summary>
    public AdmissionLimits Limits => Admission ?? AdmissionLimits.Default;

    public static readonly DataPlaneSettings Default = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(8));

    /// <summary>How long before its TLS identity expires a proxy asks its auth server for a new one (<c>actorvpn.auth-server.credential-renew-before</c>).</summary>
    public TimeSpan IdentityRenewBefore { get; init; } = TimeSpan.FromDays(30);

    public static DataPlaneSettings FromConfig(Config config)
    {
        var renewBefore = config.GetTimeSpan("actorvpn.auth-server.credential-renew-before", Default.IdentityRenewBefore, allowInfinite: false);
        var section = config.GetConfig("actorvpn.data-plane");
        if (section is null || section.IsEmpty)
        {
            return Default with { IdentityRenewBefore = renewBefore };
        }

        var handoff = config.GetTimeSpan("actorvpn.auth-server.handoff-timeout", TimeSpan.FromSeconds(5), allowInfinite: false);
        return new DataPlaneSettings(
            Positive(section, "handshake-timeout", Default.HandshakeTimeout),
            Positive(section, "connect-timeout", Default.ConnectTimeout),
            // A proxy waits for its auth server a little longer than the hand-off may take, so the
            // auth server's own `timeout` answer arrives first.
            handoff + TimeSpan.FromSeconds(3),
            AdmissionSettings.FromConfig(config, "actorvpn.data-plane.admission", "actorvpn.data-plane.pre-auth-timeout"))
        {
            MaxSessionLifetime = section.GetString("max-session-lifetime", "off") is "off" or "" ? TimeSpan.Zero : Positive(section, "max-session-lifetime", TimeSpan.Zero),
            IdentityRenewBefore = renewBefore,
            RefusalLinger = Positive(section, "refusal-linger", Default.RefusalLinger),
        };
    }

    private static TimeSpan Positive(Config section, string key, TimeSpan fallback)
    {
        TimeSpan value;
        try
        {
            value = section.GetTimeSpan(key, fallback, allowInfinite: false);
        }
        catch (FormatException)
        {
            value = TimeSpan.Zero; // e.g. "-1s": HOCON reads no sign, so it is as wrong as zero
        }

        return value > TimeSpan.Zero
            ? value
            : throw new ConfigurationException($"actorvpn.data-plane.{key} must be a positive duration, not '{section.GetString(key)}'");
    }
}
