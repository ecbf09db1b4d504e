using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Event;

namespace ActorVpn.Observability.Logging;

/// <summary>
/// The node's log lines on standard output, as the logger of <c>akka.loggers</c> (hocon/akka.hocon). With
/// <c>actorvpn.log.format = text</c> (the default) a line is Akka's own (<see cref="LogEvent.ToString"/>); with
/// <c>json</c> (<c>AVPN_LOG_FORMAT=json</c>) it is one JSON object: <c>time</c>, <c>level</c>, <c>actor</c>,
/// <c>logger</c>, <c>message</c>, <c>error</c> when there is one, and <c>session</c>, <c>handoff</c>, <c>trace_id</c>
/// where known (<see cref="LogContext"/>, or a hand-off id the message names).
/// </summary>
public sealed partial class LineLogger : ReceiveActor
{
    public const string FormatKey = "actorvpn.log.format";

    public LineLogger()
    {
        var config = Context.System.Settings.Config;
        var json = config.HasPath(FormatKey) && string.Equals(config.GetString(FormatKey), "json", StringComparison.OrdinalIgnoreCase);
        var output = Console.Out;
        Receive<LogEvent>(e => output.WriteLine(json ? Json(e) : e.ToString()));
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
    }

    /// <summary>One log event as one line of JSON (control characters, quotes and non-ASCII escaped: one line, always).</summary>
    public static string Json(LogEvent e)
    {
        var message = e.Message?.ToString() ?? string.Empty;
        var ids = LogContext.Of(e.LogSource);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("time", e.Timestamp.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            writer.WriteString("level", Level(e.LogLevel()));
            writer.WriteString("actor", e.LogSource);
            writer.WriteString("logger", e.LogClass?.FullName ?? string.Empty);
            writer.WriteString("message", message);
            if (e is Error { Cause: { } cause })
            {
                writer.WriteString("error", cause.ToString());
            }

            if (ids?.Session is { } session)
            {
                writer.WriteString("session", session);
            }

            if ((ids?.HandOff ?? HandOffNamed(message)) is { } handOff)
            {
                writer.WriteString("handoff", handOff);
            }

            if (ids?.TraceId is { } trace)
            {
                writer.WriteString("trace_id", trace);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.DebugLevel => "debug",
        LogLevel.InfoLevel => "info",
        LogLevel.WarningLevel => "warning",
        _ => "error",
    };

    /// <summary>An auth server serves many hand-offs from one actor, and its lines name the one they are about.</summary>
    private static string? HandOffNamed(string message) => HandOffId().Match(message) is { Success: true } match ? match.Groups[1].Value : null;

    [GeneratedRegex(@"hand-off ([A-Za-z0-9_-]{16})\b")]
    private static partial Regex HandOffId();
}
