using ActorVpn.Wire.Admission;
using Akka.Configuration;

namespace ActorVpn.Proxies;

/// <summary>Reads an <c>admission</c> block (of <c>actorvpn.data-plane</c> or <c>actorvpn.console</c>) into <see cref="AdmissionLimits"/>.</summary>
public static class AdmissionSettings
{
    /// <param name="config">The whole configuration.</param>
    /// <param name="path">The block, e.g. <c>actorvpn.data-plane.admission</c>; missing keys take <see cref="AdmissionLimits.Default"/>.</param>
    /// <param name="preAuthTimeoutKey">The full key of the pre-authentication deadline.</param>
    public static AdmissionLimits FromConfig(Config config, string path, string preAuthTimeoutKey)
    {
        var d = AdmissionLimits.Default;
        var preAuth = config.GetTimeSpan(preAuthTimeoutKey, d.PreAuthTimeout, allowInfinite: false);
        if (preAuth <= TimeSpan.Zero)
        {
            throw new ConfigurationException($"{preAuthTimeoutKey} must be a positive duration, not '{config.GetString(preAuthTimeoutKey)}'");
        }

        return new AdmissionLimits(
            AtLeastOne(config, $"{path}.max-unauthenticated", d.MaxUnauthenticated),
            AtLeastOne(config, $"{path}.max-unauthenticated-per-address", d.MaxUnauthenticatedPerAddress),
            AtLeastOne(config, $"{path}.max-handshakes", d.MaxHandshakes),
            AtLeastOne(config, $"{path}.max-handshakes-per-address", d.MaxHandshakesPerAddress),
            preAuth);
    }

    private static int AtLeastOne(Config config, string key, int fallback)
    {
        var value = config.GetInt(key, fallback);
        return value >= 1 ? value : throw new ConfigurationException($"{key} must be at least 1, not {value}");
    }
}
