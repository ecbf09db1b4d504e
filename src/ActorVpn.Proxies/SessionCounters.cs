using ActorVpn.Wire;
using ActorVpn.Wire.Admission;

namespace ActorVpn.Proxies;

/// <summary>
/// Live figures of one proxy connection. Its <see cref="ProxyConnectionActor"/> writes them and its <see cref="ProxyActor"/> reads
/// them (the operator's status, closing a user's sessions), each on its own thread: every field is read and written with
/// volatile semantics, so the proxy sees what the connection last wrote, never a stale value. The byte counts are
/// <see cref="RelayCounters"/>' own (Interlocked).
/// </summary>
public sealed class SessionCounters(string id)
{
    private string? _user;
    private string? _handOffId;
    private string? _onwardTo;
    private string? _serverName;
    private int _refused;

    public string Id { get; } = id;

    public DateTimeOffset Since { get; } = DateTimeOffset.UtcNow;

    public RelayCounters Relay { get; init; } = new();

    public string? User
    {
        get => Volatile.Read(ref _user);
        set => Volatile.Write(ref _user, value);
    }

    public string? HandOffId
    {
        get => Volatile.Read(ref _handOffId);
        set => Volatile.Write(ref _handOffId, value);
    }

    public string? OnwardTo
    {
        get => Volatile.Read(ref _onwardTo);
        set => Volatile.Write(ref _onwardTo, value);
    }

    public string? ServerName
    {
        get => Volatile.Read(ref _serverName);
        set => Volatile.Write(ref _serverName, value);
    }

    /// <summary>The connection was refused (or closed with a reason) before it relayed: counted in the proxy's refusals.</summary>
    public bool Refused
    {
        get => Volatile.Read(ref _refused) != 0;
        set => Volatile.Write(ref _refused, value ? 1 : 0);
    }

    /// <summary>Its places in the proxy's admission gates while it is not yet authenticated; null when the proxy admits without gates.</summary>
    public Admitted? Admission { get; init; }
}
