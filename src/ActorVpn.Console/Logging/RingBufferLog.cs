using Akka.Actor;
using Akka.Event;

namespace ActorVpn.OperatorConsole.Logging;

/// <summary>One recent log line as <c>log peek</c> shows it.</summary>
public sealed record LogLine(DateTime Timestamp, string Level, string Source, string Message);

/// <summary>
/// The node's recent log lines, kept in memory (a fixed-size ring, oldest dropped first). Filled by
/// <see cref="RingBufferLogger"/>; read by the console's <c>log peek</c>. One per actor system.
/// </summary>
public sealed class RingBufferLog : IExtension
{
    public const int Capacity = 2000;

    private readonly LogLine[] _lines = new LogLine[Capacity];
    private readonly object _gate = new();
    private long _written;

    public static RingBufferLog For(ActorSystem system) => system.WithExtension<RingBufferLog, RingBufferLogProvider>();

    public void Add(LogLine line)
    {
        lock (_gate)
        {
            _lines[_written % Capacity] = line;
            _written++;
        }
    }

    /// <summary>The last <paramref name="count"/> lines at <paramref name="minimum"/> or above, oldest first.</summary>
    public IReadOnlyList<LogLine> Peek(int count, LogLevel minimum)
    {
        lock (_gate)
        {
            var available = (int)Math.Min(_written, Capacity);
            var result = new List<LogLine>();
            for (var k = 0; k < available && result.Count < count; k++)
            {
                var line = _lines[(_written - 1 - k) % Capacity];
                if (Rank(line.Level) >= (int)minimum)
                {
                    result.Add(line);
                }
            }

            result.Reverse();
            return result;
        }
    }

    public static string Name(LogLevel level) => level switch
    {
        LogLevel.DebugLevel => "debug",
        LogLevel.InfoLevel => "info",
        LogLevel.WarningLevel => "warning",
        _ => "error",
    };

    /// <summary>Parses debug|info|warning|error (as the console's <c>--level</c> takes them).</summary>
    public static LogLevel? ParseLevel(string text) => text.ToLowerInvariant() switch
    {
        "debug" => LogLevel.DebugLevel,
        "info" => LogLevel.InfoLevel,
        "warning" or "warn" => LogLevel.WarningLevel,
        "error" => LogLevel.ErrorLevel,
        _ => null,
    };

    private static int Rank(string level) => (int)(ParseLevel(level) ?? LogLevel.ErrorLevel);
}

public sealed class RingBufferLogProvider : ExtensionIdProvider<RingBufferLog>
{
    public override RingBufferLog CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>
/// A logger for <c>akka.loggers</c> (hocon/console.hocon): every log event of the node goes into the
/// system's <see cref="RingBufferLog"/>.
/// </summary>
public sealed class RingBufferLogger : ReceiveActor
{
    public RingBufferLogger()
    {
        var log = RingBufferLog.For(Context.System);
        Receive<LogEvent>(e => log.Add(new LogLine(e.Timestamp, RingBufferLog.Name(e.LogLevel()), e.LogSource, e.Message?.ToString() ?? string.Empty)));
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
    }
}
