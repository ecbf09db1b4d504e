using ActorVpn.Proxies;
using ActorVpn.Wire.Admission;
using Akka.Configuration;

namespace ActorVpn.OperatorConsole.Host;

/// <summary>
/// The console's limits from <c>actorvpn.console</c>: frame sizes (<c>max-request</c>,
/// <c>max-reply</c>), and what it admits before an operator has authenticated (its
/// <c>admission</c> block; the TLS handshake is the authentication, so <c>handshake-timeout</c>
/// is the pre-authentication deadline).
/// </summary>
public sealed record ConsoleLimits(int MaxRequest, int MaxReply, AdmissionLimits Admission)
{
    public static readonly ConsoleLimits Default = new(ConsoleFrames.MaxRequest, ConsoleFrames.MaxReply, AdmissionLimits.Default);

    public static ConsoleLimits FromConfig(Config config) => new(
        Frame(config, "actorvpn.console.max-request", ConsoleFrames.MaxRequest, ConsoleFrames.RequestCeiling),
        Frame(config, "actorvpn.console.max-reply", ConsoleFrames.MaxReply, ConsoleFrames.ReplyCeiling),
        AdmissionSettings.FromConfig(config, "actorvpn.console.admission", "actorvpn.console.handshake-timeout"));

    private static int Frame(Config config, string key, int fallback, int ceiling)
    {
        // Byte sizes as HOCON writes them ("16 KiB") or plain numbers; a console client reads up to the ceiling.
        var value = config.HasPath(key) ? config.GetByteSize(key) ?? fallback : fallback;
        return value is >= 1024 && value <= ceiling
            ? (int)value
            : throw new ConfigurationException($"{key} must be from 1024 to {ceiling} bytes, not {value}");
    }
}
