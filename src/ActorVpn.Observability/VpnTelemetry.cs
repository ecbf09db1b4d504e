using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ActorVpn.Observability;

/// <summary>
/// The one <see cref="ActivitySource"/> and the one <see cref="Meter"/> of ActorVpn: every span and every
/// instrument of the product is named under them, so an exporter subscribes to one name.
/// </summary>
public static class VpnTelemetry
{
    public const string Name = "ActorVpn";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);
}
