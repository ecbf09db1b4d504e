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

    public IActorRef? Find(string name) => _servers.TryGetValue(name, out var server) ? server : null;

    public IReadOnlyCollection<string> Names => _servers.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
}

public sealed class AuthServerRegistryProvider : ExtensionIdProvider<AuthServerRegistry>
{
    public override AuthServerRegistry CreateExtension(ExtendedActorSystem system) => new();
}
