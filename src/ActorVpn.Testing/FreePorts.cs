using System.Net;
using System.Net.Sockets;

namespace ActorVpn.Testing;

/// <summary>
/// Ports for processes that must be told their address before they start (a topology file, a
/// <c>--listen</c> argument). A port the kernel hands out for port 0 lies in the ephemeral range,
/// where it can be taken by any outgoing connection of a test running in parallel between the probe
/// and the process's bind. These are drawn below that range instead, where only explicit binds land,
/// and each is checked free and never handed out twice by this process.
/// </summary>
public static class FreePorts
{
    private static readonly HashSet<int> Given = [];
    private static readonly Lock Gate = new();

    public static int Take()
    {
        var (low, high) = BelowEphemeralRange();
        lock (Gate)
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                var port = Random.Shared.Next(low, high);
                if (!Given.Contains(port) && IsFree(port))
                {
                    Given.Add(port);
                    return port;
                }
            }
        }

        // A machine whose ephemeral range starts so low there is no room below it: the kernel's choice.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static (int Low, int High) BelowEphemeralRange()
    {
        var ephemeralStart = 32768;
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])[' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries);
            ephemeralStart = int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // not Linux, or not readable: the usual default
        }

        return (Math.Min(15000, ephemeralStart - 1), Math.Max(15001, ephemeralStart));
    }
}
