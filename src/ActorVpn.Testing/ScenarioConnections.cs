using System.Collections.Concurrent;
using System.Net.Sockets;
using ActorVpn.Topology;

namespace ActorVpn.Testing;

/// <summary>
/// The application side of a scenario: one <c>avpn connect</c> listener per user and destination,
/// started once even when many sessions open at the same moment, and every application connection
/// opened through it (so the invariants can count them and disposal closes them).
/// </summary>
internal sealed class ScenarioConnections : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string User, string Destination), Lazy<Task<string>>> _listeners = new();
    private readonly List<ScenarioSession> _sessions = [];

    /// <summary>How many application connections the scenario opened.</summary>
    public int Opened
    {
        get
        {
            lock (_sessions)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>Opens one application connection to the listener of (<paramref name="user"/>, <paramref name="destination"/>), starting it with <paramref name="startListener"/> the first time.</summary>
    public async Task<ScenarioSession> OpenAsync(string user, string destination, Func<Task<string>> startListener)
    {
        var key = (user, destination);
        var listener = _listeners.GetOrAdd(key, _ => new Lazy<Task<string>>(startListener));
        string address;
        try
        {
            address = await listener.Value;
        }
        catch
        {
            _listeners.TryRemove(new KeyValuePair<(string, string), Lazy<Task<string>>>(key, listener)); // the next call tries again
            throw;
        }

        var local = HostPort.Parse(address);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(local.Host, local.Port);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var session = new ScenarioSession(socket);
        lock (_sessions)
        {
            _sessions.Add(session);
        }

        return session;
    }

    public async ValueTask DisposeAsync()
    {
        List<ScenarioSession> sessions;
        lock (_sessions)
        {
            sessions = _sessions.ToList();
        }

        foreach (var session in sessions)
        {
            await session.DisposeAsync();
        }
    }
}
