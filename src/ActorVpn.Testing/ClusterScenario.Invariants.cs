using ActorVpn.Proxies;
using Akka.Actor;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Testing;

/// <summary>What must hold once a cluster scenario has settled, and waiting for it.</summary>
public sealed partial class ClusterScenario
{
    /// <summary>
    /// The invariants of <see cref="VpnScenario.AssertInvariantsAsync"/> over the cluster: every client
    /// session ended; no proxy session, pending hand-off or held certificate left on any running
    /// auth server; no destination connected more often than sessions were established to it.
    /// </summary>
    public async Task AssertInvariantsAsync(TimeSpan? within = null)
    {
        string? violation = null;
        var ok = await TryEventuallyAsync(async () =>
        {
            var problems = new List<string>();
            var opened = _connections.Opened;

            var (established, closed) = _log.Sessions();
            if (closed < opened)
            {
                problems.Add($"{opened - closed} of {opened} client sessions have not ended");
            }

            foreach (var proxy in Topology.Proxies)
            {
                var status = await Entry.System.ActorSelection($"/user/proxies/{proxy.Name}")
                    .Ask<ProxyProtocol.ProxyStatus>(ProxyProtocol.GetProxyStatus.Instance, VpnScenario.DefaultDeadline);
                if (status.Sessions.Count > 0)
                {
                    problems.Add($"{proxy.Name} still has {status.Sessions.Count} sessions");
                }
            }

            foreach (var server in Topology.AuthServers)
            {
                var status = await Entry.Routes[server.Name].Ask<AuthServerStatus>(GetStatus.Instance, VpnScenario.DefaultDeadline);
                if (status.Held.Count > 0 || status.PendingHandOffs > 0)
                {
                    problems.Add($"{server.Name} holds {status.Held.Count} certificates and {status.PendingHandOffs} pending hand-offs");
                }
            }

            foreach (var (destination, echo) in _destinations)
            {
                var sessions = established.Count(d => d == destination);
                if (echo.Connections > sessions)
                {
                    problems.Add($"destination '{destination}' was connected {echo.Connections} times for {sessions} established sessions");
                }
            }

            violation = problems.Count == 0 ? null : string.Join("; ", problems);
            return violation is null;
        }, within);
        if (!ok)
        {
            throw new InvariantViolationException(violation ?? "the invariants could not be checked in time");
        }
    }

    private async Task EventuallyAsync(Func<bool> condition, string message, TimeSpan? within = null)
    {
        if (!await TryEventuallyAsync(() => Task.FromResult(condition()), within))
        {
            throw new TimeoutException(message);
        }
    }

    private static async Task<bool> TryEventuallyAsync(Func<Task<bool>> probe, TimeSpan? within)
    {
        var deadline = DateTime.UtcNow + (within ?? VpnScenario.DefaultDeadline * 3);
        while (true)
        {
            try
            {
                if (await probe())
                {
                    return true;
                }
            }
            catch (Exception e) when (e is AskTimeoutException or TimeoutException)
            {
                // a group is moving: ask again
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }
    }
}
