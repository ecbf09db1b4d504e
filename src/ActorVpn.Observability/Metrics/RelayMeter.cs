namespace ActorVpn.Observability.Metrics;

/// <summary>
/// A proxy's relay byte counter with its tags made once per session, so that counting a chunk on the data path is one
/// <see cref="System.Diagnostics.Metrics.Counter{T}.Add(T, KeyValuePair{string, object?}, KeyValuePair{string, object?})"/>
/// and allocates nothing.
/// </summary>
public sealed class RelayMeter(string proxy)
{
    private readonly KeyValuePair<string, object?> _proxy = new(VpnMetrics.Proxy, proxy);
    private static readonly KeyValuePair<string, object?> ToDestination = new(VpnMetrics.Direction, VpnMetrics.TowardsDestination);
    private static readonly KeyValuePair<string, object?> ToClient = new(VpnMetrics.Direction, VpnMetrics.TowardsClient);

    public void TowardsDestination(long bytes) => VpnMetrics.RelayBytes.Add(bytes, _proxy, ToDestination);

    public void TowardsClient(long bytes) => VpnMetrics.RelayBytes.Add(bytes, _proxy, ToClient);
}
