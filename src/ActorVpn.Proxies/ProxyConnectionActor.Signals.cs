using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.Wire;

namespace ActorVpn.Proxies;

/// <summary>What a proxy connection tells itself: the outcomes of its own asynchronous steps, and its timers.</summary>
public sealed partial class ProxyConnectionActor
{
    private sealed record TlsAccepted(SslStream Tls, X509Certificate2 ClientCertificate);

    private sealed record FrameRead(ControlMessage Message);

    private sealed record WriteDone(Action Then);

    private sealed record OnwardConnected(string To, Socket Socket);

    private sealed record RelayFinished(RelayOutcome Outcome);

    private sealed record StepFailed(string Step, Exception Cause);

    private sealed record HandshakeDeadline
    {
        public static readonly HandshakeDeadline Instance = new();
    }

    /// <summary>This proxy's auth server has not answered within <see cref="DataPlaneSettings.AuthTimeout"/> (Fig. 6, step 604).</summary>
    private sealed record AuthAnswerOverdue
    {
        public static readonly AuthAnswerOverdue Instance = new();
    }

    private sealed record SessionLifetimeOver
    {
        public static readonly SessionLifetimeOver Instance = new();
    }
}
