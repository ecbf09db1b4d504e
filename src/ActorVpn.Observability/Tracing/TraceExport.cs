using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ActorVpn.Observability.Tracing;

/// <summary>
/// Where a process's spans go: with OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (and the other standard
/// <c>OTEL_*</c> variables: protocol, headers, service name), to standard error in the console exporter's layout when
/// <c>AVPN_TRACES=console</c>, both, or nowhere (no listener: spans are not even created).
/// </summary>
public static class TraceExport
{
    public const string ConsoleVariable = "AVPN_TRACES";

    /// <summary>Starts exporting as the environment says; dispose the result on the way out (it flushes). Null when off.</summary>
    public static IDisposable? Start(string serviceName, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var otlp = !string.IsNullOrWhiteSpace(environment("OTEL_EXPORTER_OTLP_ENDPOINT"));
        var console = string.Equals(environment(ConsoleVariable), "console", StringComparison.OrdinalIgnoreCase);
        if (!otlp && !console)
        {
            return null;
        }

        var builder = Sdk.CreateTracerProviderBuilder().AddSource(VpnTelemetry.Name);
        if (string.IsNullOrWhiteSpace(environment("OTEL_SERVICE_NAME")))
        {
            builder.ConfigureResource(resource => resource.AddService(serviceName));
        }

        if (otlp)
        {
            builder.AddOtlpExporter();
        }

        if (console)
        {
            builder.AddProcessor(new SimpleActivityExportProcessor(new StandardErrorSpanExporter()));
        }

        return builder.Build();
    }
}

/// <summary>
/// OpenTelemetry's console exporter layout, written to standard error: a process's standard output carries its own
/// lines (<c>ready</c>, the log), and the SDK's console exporter can only write to standard output.
/// </summary>
public sealed class StandardErrorSpanExporter(TextWriter? output = null) : BaseExporter<Activity>
{
    private readonly TextWriter _output = output ?? Console.Error;

    public override ExportResult Export(in Batch<Activity> batch)
    {
        var resource = ParentProvider?.GetResource();
        foreach (var activity in batch)
        {
            var text = new System.Text.StringBuilder();
            text.Append("Activity.TraceId:            ").Append(activity.TraceId.ToHexString()).Append('\n');
            text.Append("Activity.SpanId:             ").Append(activity.SpanId.ToHexString()).Append('\n');
            text.Append("Activity.TraceFlags:         ").Append(activity.ActivityTraceFlags).Append('\n');
            if (activity.ParentSpanId != default)
            {
                text.Append("Activity.ParentSpanId:       ").Append(activity.ParentSpanId.ToHexString()).Append('\n');
            }

            text.Append("Activity.DisplayName:        ").Append(activity.DisplayName).Append('\n');
            text.Append("Activity.Kind:               ").Append(activity.Kind).Append('\n');
            text.Append("Activity.StartTime:          ").Append(activity.StartTimeUtc.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
            text.Append("Activity.Duration:           ").Append(activity.Duration).Append('\n');
            var tags = activity.TagObjects.ToList();
            if (tags.Count > 0)
            {
                text.Append("Activity.Tags:\n");
                foreach (var (key, value) in tags)
                {
                    text.Append("    ").Append(key).Append(": ").Append(value is string[] items ? "[" + string.Join(", ", items) + "]" : value).Append('\n');
                }
            }

            if (activity.Status != ActivityStatusCode.Unset)
            {
                text.Append("StatusCode: ").Append(activity.Status).Append('\n');
                if (!string.IsNullOrEmpty(activity.StatusDescription))
                {
                    text.Append("Activity.StatusDescription: ").Append(activity.StatusDescription).Append('\n');
                }
            }

            text.Append("Instrumentation scope (ActivitySource):\n    Name: ").Append(activity.Source.Name).Append('\n');
            if (resource?.Attributes.Any() == true)
            {
                text.Append("Resource associated with Activity:\n");
                foreach (var (key, value) in resource.Attributes)
                {
                    text.Append("    ").Append(key).Append(": ").Append(value).Append('\n');
                }
            }

            lock (_output)
            {
                _output.Write(text.Append('\n').ToString());
                _output.Flush();
            }
        }

        return ExportResult.Success;
    }
}
