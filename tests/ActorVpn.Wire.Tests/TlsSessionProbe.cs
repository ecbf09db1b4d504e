using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;

namespace ActorVpn.Wire.Tests;

/// <summary>
/// Whether OpenSSL resumed an <see cref="SslStream"/>'s session: .NET has no public property for it, so tests ask libssl about
/// the stream's SSL object. Tests of resumption use it to show that they exercised a resumed session, not a full handshake.
/// </summary>
internal static class TlsSessionProbe
{
    public static bool WasResumed(SslStream tls)
    {
        var session = typeof(SslStream).GetField("_securityContext", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(tls) as SafeHandle
            ?? throw new InvalidOperationException("this .NET keeps the TLS session elsewhere: update the probe");
        return NativeMethods.SSL_session_reused(session.DangerousGetHandle()) != 0;
    }

    private static class NativeMethods
    {
        [DllImport("libssl.so.3")]
        public static extern int SSL_session_reused(IntPtr ssl);
    }
}
