using ActorVpn.Wire.Admission;
using Akka.Configuration;

namespace ActorVpn.Proxies;

/// <summary>The <c>actorvpn.data-plane</c> section of the HOCON configuration.</summary>
/// <param name="Admission">What a proxy admits before the client has authenticated (<c>admission</c>, <c>pre-auth-timeout</c>); null: the defaults.</param>
public sealed record DataPlaneSettings(TimeSpan HandshakeTimeout, TimeSpan ConnectTimeout, TimeSpan AuthTimeout, AdmissionLimits? Admission = null)
{
    /// <summary>The admission limits in force.</summary>
    public AdmissionLimits Limits => Admission ?? AdmissionLimits.Default;

    public static readonly DataPlaneSettings Default = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(8));

    public static DataPlaneSettings FromConfig(Config config)
    {
        var section = config.GetConfig("actorvpn.data-plane");
        if (section is null || section.IsEmpty)
        {
            return Default;
        }

        var handoff = config.GetTimeSpan("actorvpn.auth-server.handoff-timeout", TimeSpan.FromSeconds(5), allowInfinite: false);
        return new DataPlaneSettings(
            Positive(section, "handshake-timeout", Default.HandshakeTimeout),
            Positive(section, "connect-timeout", Default.ConnectTimeout),
            // A proxy waits for its auth server a little longer than the hand-off may take, so the
            // auth server's own `timeout` answer arrives first.
            handoff + TimeSpan.FromSeconds(3),
            AdmissionSettings.FromConfig(config, "actorvpn.data-plane.admission", "actorvpn.data-plane.pre-auth-timeout"));
    }

    private static TimeSpan Positive(Config section, string key, TimeSpan fallback)
    {
        var value = section.GetTimeSpan(key, fallback, allowInfinite: false);
        return value > TimeSpan.Zero
            ? value
            : throw new ConfigurationException($"actorvpn.data-plane.{key} must be a positive duration, not '{section.GetString(key)}'");
    }
}
