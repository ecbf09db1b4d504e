namespace ActorVpn.Wire;

/// <summary>Why a frame was rejected.</summary>
public enum FrameError
{
    /// <summary>The stream or buffer ended before the header or the announced payload was complete.</summary>
    Truncated,

    /// <summary>The version byte is not <see cref="FrameCodec.Version"/>.</summary>
    UnsupportedVersion,

    /// <summary>The announced payload length exceeds <see cref="FrameCodec.MaxPayload"/>.</summary>
    Oversized,

    /// <summary>The type byte names no known message.</summary>
    UnknownType,

    /// <summary>The payload is not valid JSON for the type, or a field is missing, empty or too long.</summary>
    MalformedPayload,
}

/// <summary>A control frame could not be read, decoded or encoded.</summary>
public sealed class FrameException : Exception
{
    public FrameException(FrameError error, string message)
        : base(message)
    {
        Error = error;
    }

    public FrameException(FrameError error, string message, Exception innerException)
        : base(message, innerException)
    {
        Error = error;
    }

    public FrameError Error { get; }
}
