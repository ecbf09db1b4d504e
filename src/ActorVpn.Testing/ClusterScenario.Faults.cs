using ActorVpn.AuthServers.HandOff;
using ActorVpn.Cluster;
using ActorVpn.Protocol;
using Akka.Actor;
using Akka.Remote;
using Akka.Remote.Transport;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Testing;

/// <summary>The faults a cluster scenario injects: node crashes (also at a named patent step), store outages, partitions and throttled links.</summary>
public sealed partial class ClusterScenario
{
    /// <summary>Crashes a node: its ActorSystem stops without leaving the cluster; the others detect it, down it (keep-majority) and take over its groups.</summary>
    public async Task KillNodeAsync(string node)
    {
        if (node == _names[0])
        {
            throw new ArgumentException("node1 runs the proxies and the client listeners of the scenario; kill another node");
        }

        lock (_killed)
        {
            if (!_killed.Add(node))
            {
                return;
            }
        }

        await _nodes[node].DisposeAsync();
    }

    /// <summary>
    /// Mid-hand-off: when <paramref name="server"/> reaches <paramref name="step"/>, the request is held
    /// there and the node running <paramref name="server"/> crashes. The returned task completes once it has.
    /// </summary>
    public Task<string> KillNodeAt(string server, PatentStep step)
    {
        var killed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Faults.When(server, step, reached => _ = Task.Run(async () =>
        {
            try
            {
                var node = await NodeOfAsync(reached.AuthServer);
                await KillNodeAsync(node);
                killed.TrySetResult(node);
            }
            catch (Exception e)
            {
                killed.TrySetException(e);
            }
        }));
        return killed.Task;
    }

    /// <summary>True when the scenario's store can be made to fail (<see cref="StoreOutageAsync"/>): PostgreSQL.</summary>
    public bool CanFailStore => _postgres is not null;

    /// <summary>
    /// The shared store goes down for every node: its database refuses new connections and the open
    /// ones are closed. Dispose the result to bring it back.
    /// </summary>
    public async Task<IAsyncDisposable> StoreOutageAsync()
    {
        var database = new Npgsql.NpgsqlConnectionStringBuilder(_postgres ?? throw new InvalidOperationException("a store outage needs the PostgreSQL store (ClusterScenarioOptions.Postgres)")).Database!;
        await AdminAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false");
        await AdminAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()");
        return new Outage(() => AdminAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true"));
    }

    /// <summary>Waits until <paramref name="server"/> answers (e.g. re-created after a store outage, or moved to another node).</summary>
    public Task AwaitRunningAsync(string server, TimeSpan? within = null) =>
        TryEventuallyAsync(async () => await Entry.Routes[server].Ask<AuthServerStatus>(GetStatus.Instance, TimeSpan.FromSeconds(2)) is not null, within)
            .ContinueWith(t => t.Result ? Task.CompletedTask : throw new TimeoutException($"{server} did not come back"), TaskScheduler.Default).Unwrap();

    private async Task AdminAsync(string sql)
    {
        var admin = new Npgsql.NpgsqlConnectionStringBuilder(_postgres) { Database = "postgres", Pooling = false };
        await using var connection = new Npgsql.NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private sealed class Outage(Func<Task> restore) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await restore();
    }

    /// <summary>Black-holes all Akka.Remote traffic between two nodes, both ways (the throttler transport adapter), until <see cref="Heal"/>.</summary>
    public Task Partition(string a, string b) => ThrottleAsync(a, b, Blackhole.Instance);

    /// <summary>
    /// Limits all Akka.Remote traffic between two nodes, both ways, to <paramref name="bytesPerSecond"/> (a token
    /// bucket of the throttler transport adapter holding a tenth of a second's worth), until <see cref="Heal"/>.
    /// This is a bandwidth limit, not a latency: a message waits only while the bytes sent before it drain, so small
    /// messages on a quiet link pass at once. Akka.Remote's throttler (Blackhole, Unthrottled, TokenBucket) has no
    /// fixed per-message delay; to delay hand-off requests between two auth servers use
    /// <see cref="FaultPlan.Delay"/> on <see cref="Faults"/>. Too low a limit also slows the cluster's heartbeats,
    /// and the failure detector may then take the link for a partition.
    /// </summary>
    public Task Throttle(string a, string b, int bytesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        var burst = Math.Max(1, bytesPerSecond / 10);
        return ThrottleAsync(a, b, new TokenBucket(burst, bytesPerSecond, 0, burst));
    }

    /// <summary>Lets traffic between the two nodes flow again (after <see cref="Partition"/> or <see cref="Throttle"/>).</summary>
    public Task Heal(string a, string b) => ThrottleAsync(a, b, Unthrottled.Instance);

    private async Task ThrottleAsync(string a, string b, ThrottleMode mode)
    {
        var (left, right) = (_nodes[a], _nodes[b]);
        var applied = await ((IRemoteActorRefProvider)((ExtendedActorSystem)left.System).Provider).Transport.ManagementCommand(new SetThrottle(right.Cluster.SelfAddress, ThrottleTransportAdapter.Direction.Both, mode))
            & await ((IRemoteActorRefProvider)((ExtendedActorSystem)right.System).Provider).Transport.ManagementCommand(new SetThrottle(left.Cluster.SelfAddress, ThrottleTransportAdapter.Direction.Both, mode));
        if (!applied)
        {
            throw new InvalidOperationException($"the throttler transport did not apply {mode.GetType().Name} between {a} and {b} (is applied-adapters = [trttl] set?)");
        }
    }
}
