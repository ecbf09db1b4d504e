using System.Net.Sockets;

namespace ActorVpn.Testing;

/// <summary>Local client connections in tests.</summary>
public static class LocalConnections
{
    /// <summary>
    /// Opens a local connection the node is expected to refuse. The refusal is a reset of the accepted
    /// socket, and it can win the race with the connect call itself: then this returns null, which
    /// means the connection was already closed by the peer.
    /// </summary>
    public static async Task<Socket?> OpenRefusedAsync(Func<Task<Socket>> open)
    {
        try
        {
            return await open();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return null;
        }
    }
}
