using System.Collections.Concurrent;
using Akka.Actor;

namespace ActorVpn.AuthServers;

/// <summary>
/// Where each auth server of this actor system can be reached, by name. Auth servers register
/// themselves when they start and leave when they stop, so a call to a server that is not running
/// fails at once with <c>unreachable</c> instead of waiting for a timeout.
/// </summary>
public sealed class AuthServerRegistry : IExtension
{
    private readonly ConcurrentDictionary<string, IActorRef> _servers = new(StringComparer.Ordinal);

    public static AuthServerRegistry For(ActorSystem system) => system.WithExtension<AuthServerRegistry, AuthServerRegistryProvider>();

    public void Register(string name, IActorRef server) => _servers[name] = server;

    public void Unregister(string name, IActorRef server) =>
        _servers.TryRemove(new KeyValuePair<string, IActorRef>(name, server));

    private readonly ConcurrentDictionary<string, IActorRef> _routes = new(StringComparer.Ordinal);

    public IActorRef? Find(string name) =>
        _servers.TryGetValue(name, out var server) ? server : _routes.TryGetValue(name, out var route) ? route : null;

    /// <summary>
    /// A cluster node's way to a server that may run on another node (e.g. a cluster singleton
    /// proxy). A server running in this actor system is still found first; the route is used when it
    /// is not (another node hosts it, or it is failing over), and stays after the server stops.
    /// </summary>
    public void RegisterRoute(string name, IActorRef route) => _routes[name] = route;

    public IReadOnlyCollection<string> Names => _servers.Keys.Union(_routes.Keys).OrderBy(n => n, StringComparer.Ordinal).ToList();
}

public sealed class AuthServerRegistryProvider : ExtensionIdProvider<AuthServerRegistry>
{
    public override AuthServerRegistry CreateExtension(ExtendedActorSystem system) => new();
}
