using ActorVpn.AuthServers;
using ActorVpn.Hosting;
using Akka.Actor;
using static ActorVpn.Protocol.AuthServerAdmin;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// What several command families ask the running node: auth-server and proxy status, the live
/// sessions across the chain and a user's home server. Every call asks with the command's timeout.
/// </summary>
internal sealed class NodeQueries(ConsoleNode node, TimeSpan timeout)
{
    public Task<ControlPlane> ControlAsync() => node.ControlAsync(timeout);

    public async Task<AuthServerStatus> AuthStatusAsync(string server) => await (await ControlAsync()).AskAsync<AuthServerStatus>(server, GetStatus.Instance);

    public async Task<IReadOnlyList<AuthServerStatus>> AllAuthStatusAsync() =>
        await Task.WhenAll(node.Topology.AuthServers.Select(a => AuthStatusAsync(a.Name)));

    /// <summary>A proxy's status and the node it runs on.</summary>
    public sealed record ProxyOnNode(ConsoleNode.ProxyAt At, ProxyStatus Status);

    /// <summary>A short bound for finding the proxies of the cluster: a member that does not answer at once is not waited for.</summary>
    public TimeSpan ProbeTimeout => ProbeTimeoutOf(timeout);

    /// <summary>The probe bound for a command allowed <paramref name="commandTimeout"/>: at most 2 s.</summary>
    public static TimeSpan ProbeTimeoutOf(TimeSpan commandTimeout) => TimeSpan.FromTicks(Math.Min(commandTimeout.Ticks, TimeSpan.FromSeconds(2).Ticks));

    public async Task<IReadOnlyList<ProxyOnNode>> AllProxyStatusAsync() =>
        await Task.WhenAll((await node.ProxiesAsync(ProbeTimeout)).Select(async p => new ProxyOnNode(p, await p.Actor.Ask<ProxyStatus>(GetProxyStatus.Instance, timeout))));


    /// <summary>The live sessions of every proxy of every reachable node: one hand-off's connections, on whichever nodes, are one session.</summary>
    public async Task<IReadOnlyList<SessionView>> SessionsAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var statuses = await AllProxyStatusAsync();
        return statuses
            .SelectMany(s => s.Status.Sessions.Where(c => c.HandOffId is not null).Select(c => (Hop: s.At, Connection: c)))
            .GroupBy(x => x.Connection.HandOffId!, StringComparer.Ordinal)
            .Select(g =>
            {
                var hops = g.OrderBy(x => x.Connection.Since).ToList();
                var entry = hops[0].Connection;
                return new SessionView(g.Key, entry.User ?? "-", hops.Select(h => h.Hop.Proxy).ToList(), entry.Since,
                    Math.Round((now - entry.Since).TotalSeconds, 1), entry.BytesIn, entry.BytesOut, hops.Select(h => h.Hop.Node).ToList())
                {
                    Actors = hops.Select(h => h.Hop.Actor).ToList(),
                };
            })
            .OrderBy(s => s.Since)
            .ToList();
    }

    public sealed record Home(string Server, bool Revoked);

    /// <summary>
    /// The one server the user is registered at (【0012】). A server that does not answer (its node
    /// paused, cut off or failing over) is not the home of a user another server knows, so it does not
    /// stop a revocation there; only when no server that answered knows the user is its silence an error.
    /// </summary>
    public async Task<Home?> HomeOfAsync(string user)
    {
        var asked = node.Topology.AuthServers.Select(a => (a.Name, Status: AuthStatusAsync(a.Name))).ToList();
        var silent = new List<string>();
        foreach (var (name, status) in asked)
        {
            try
            {
                if ((await status).Users.FirstOrDefault(u => u.Name == user) is { } found)
                {
                    return new Home(name, found.RevokedAt is not null);
                }
            }
            catch (Exception e) when (e is AskTimeoutException or InvalidOperationException)
            {
                silent.Add(name);
            }
        }

        return silent.Count == 0
            ? null
            : throw new InvalidOperationException($"no auth server that answered knows '{user}'; {string.Join(", ", silent)} did not answer (see `cluster show`)");
    }
}
