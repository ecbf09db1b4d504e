using System.Net;
using ActorVpn.Observability.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ActorVpn.Cluster;

/// <summary>
/// <c>GET /metrics</c>: the process's metrics in Prometheus' text format (<see cref="PrometheusMetrics"/>). On <c>avpn node</c>
/// it is served on the health port; <c>avpn up --metrics HOST:PORT</c> serves it alone. A scrape only reads.
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    public static void Map(WebApplication app) =>
        app.MapGet(Path, () => Results.Text(PrometheusMetrics.Process.Scrape(), PrometheusMetrics.ContentType));

    /// <summary>Serves <c>/metrics</c> on <paramref name="at"/>; fails at once when the address cannot be bound.</summary>
    public static async Task<WebApplication> StartAsync(IPEndPoint at)
    {
        _ = PrometheusMetrics.Process;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{(at.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{at.Address}]" : at.Address.ToString())}:{at.Port}");
        var app = builder.Build();
        Map(app);
        await app.StartAsync();
        return app;
    }
}
