using System.Diagnostics;
using System.Globalization;
using ActorVpn.AuthServers;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Microsoft.Data.Sqlite;
using Npgsql;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Bench;

/// <summary>
/// The recovery benchmark (not a test): one home server (as1 of the patent's example) with
/// 100,000 registered users recovers from SQLite (and PostgreSQL when <c>AVPN_POSTGRES</c> names a
/// server), timed from the start of the control plane until every auth server answers.
///
/// Seeding uses the product's own durable form: as1's real journal (its authority created by the
/// product on first start, the key secret from the data directory), 100,000 <see cref="UserRegistered"/>
/// events with real certificates issued by that authority, written in batches of 1,000 (PersistAll),
/// then the snapshot the product takes (<see cref="AuthServerSnapshot.Of"/>), then the most events the
/// product lets follow a snapshot (<see cref="SnapshotPolicy"/>: 9,999 at 100,000 users), the worst case
/// for recovery.
///
/// Peers: the same with 1,000 users, and a raw SQL read of the same rows (the snapshot and the
/// events after it) with the store's own ADO.NET client: recovery cannot be faster than that.
/// Run: <c>bench/run.sh --recovery [--users N]</c>.
/// </summary>
public static class RecoveryBench
{
    private const int Repeats = 3;

    public static async Task<int> RunAsync(string[] args)
    {
        var index = Array.IndexOf(args, "--users");
        var users = index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : 100_000;
        var stores = new List<(string Name, Func<Task<Store>> Create)> { ("SQLite", () => Task.FromResult(Store.Sqlite())) };
        if (Environment.GetEnvironmentVariable("AVPN_POSTGRES") is { Length: > 0 } server)
        {
            stores.Add(("PostgreSQL", () => Store.PostgresAsync(server)));
        }
        else
        {
            Console.WriteLine("recovery: AVPN_POSTGRES is not set: PostgreSQL not measured");
        }

        var rows = new List<string>();
        foreach (var (name, create) in stores)
        {
            foreach (var n in new[] { 1_000, 1_000, users })
            {
                await using var store = await create();
                var seed = Stopwatch.StartNew();
                var snapshotBytes = await SeedAsync(store, n);
                Console.WriteLine($"recovery: {name}: seeded {n:N0} users in {seed.Elapsed.TotalSeconds:0.0} s (snapshot {snapshotBytes / 1048576.0:0.0} MiB + {Tail(n):N0} events)");
                var times = new List<double>();
                for (var k = 0; k < Repeats; k++)
                {
                    times.Add(await RecoverAsync(store, n));
                }

                var raw = new List<double>();
                for (var k = 0; k < Repeats; k++)
                {
                    raw.Add(await store.RawReadAsync(AuthServerActor.PersistenceIdFor("as1")));
                }

                var line = $"{name,-10} {n,8:N0} users  recovery median {Median(times),7:0} ms (runs {string.Join(", ", times.Select(t => t.ToString("0", CultureInfo.InvariantCulture)))})  raw SQL read of the same rows {Median(raw),6:0} ms  ratio {Median(times) / Math.Max(Median(raw), 0.001),5:0.0}x  snapshot {snapshotBytes / 1048576.0:0.0} MiB";
                Console.WriteLine("recovery: " + line);
                rows.Add(line);
            }
        }

        Console.WriteLine();
        Console.WriteLine("Recovery of home server as1 (control plane start until every auth server answers; first 1,000-user row is the warm-up):");
        rows.ForEach(Console.WriteLine);
        return 0;
    }

    /// <summary>Events after the latest snapshot in the worst case: one short of the next snapshot.</summary>
    private static int Tail(int users) => (int)SnapshotPolicy.Default.Interval(users) - 1;

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static Config ConfigFor(Store store) => DurableStore.Complete(
        HoconLayers.Load([DurableStore.LayerFor(store.Kind)], overrides: ConfigurationFactory.ParseString(string.Join('\n', "akka.loglevel = WARNING", store.Hocon)), environment: _ => null),
        store.DataDirectory);

    private static AuthServerSettings SettingsFor(Config config, Store store) =>
        AuthServerSettings.FromConfig(config) with { KeyProtection = DurableStore.KeyProtectionFor(config, store.DataDirectory) };

    /// <summary>The product's first start (authorities, inter-server credentials), then as1's users written straight into its journal.</summary>
    private static async Task<long> SeedAsync(Store store, int users)
    {
        var config = ConfigFor(store);
        var settings = SettingsFor(config, store);
        using (var system = ActorSystem.Create("actorvpn", config))
        {
            await ControlPlane.StartAsync(system, ExampleTopology.Load(), settings, askTimeout: TimeSpan.FromMinutes(2));
            await system.Terminate();
        }

        using (var system = ActorSystem.Create("seeder", config))
        {
            var seeder = system.ActorOf(Props.Create(() => new Seeder(AuthServerActor.PersistenceIdFor("as1"), "as1", settings.KeyProtection!, users)));
            var bytes = await seeder.Ask<long>(Seeder.Go.Instance, TimeSpan.FromMinutes(30));
            await system.Terminate();
            return bytes;
        }
    }

    /// <summary>One timed recovery: a fresh actor system on the store, the control plane started, as1 asked for its users.</summary>
    private static async Task<double> RecoverAsync(Store store, int users)
    {
        var config = ConfigFor(store);
        var settings = SettingsFor(config, store);
        using var system = ActorSystem.Create("actorvpn", config);
        var clock = Stopwatch.StartNew();
        var plane = await ControlPlane.StartAsync(system, ExampleTopology.Load(), settings, askTimeout: TimeSpan.FromMinutes(5));
        var elapsed = clock.Elapsed.TotalMilliseconds;
        var status = await plane.AskAsync<AuthServerStatus>("as1", GetStatus.Instance);
        if (status.Users.Count != users + Tail(users))
        {
            throw new InvalidOperationException($"as1 recovered {status.Users.Count} users, expected {users + Tail(users)}");
        }

        await system.Terminate();
        return elapsed;
    }

    /// <summary>Writes as1's users through Akka.Persistence in batches (one transaction each), then the product's snapshot, then a tail of events.</summary>
    private sealed class Seeder : ReceivePersistentActor
    {
        private readonly string _name;
        private readonly KeyProtection _protection;
        private readonly int _users;
        private readonly LeafKey _key = LeafKey.Create();
        private AuthServerState _state;
        private SigningAuthority? _authority;
        private IActorRef _replyTo = ActorRefs.Nobody;
        private int _written;
        private long _snapshotBytes;

        public Seeder(string persistenceId, string name, KeyProtection protection, int users)
        {
            PersistenceId = persistenceId;
            _name = name;
            _protection = protection;
            _users = users;
            _state = AuthServerState.Empty(name);
            Recover<SnapshotOffer>(offer => _state = ((AuthServerSnapshot)offer.Snapshot).ToState());
            Recover<IAuthServerEvent>(evt => _state = _state.Apply(evt));
            Command<Go>(_ =>
            {
                _replyTo = Sender;
                var created = _state.Authority ?? throw new InvalidOperationException("as1 has no authority: the product's first start did not run");
                _authority = SigningAuthority.ImportEncrypted(_name, _protection.Secret, created.PrivateKey, created.CertificateDer);
                Self.Tell(Next.Instance);
            });
            Command<Next>(_ =>
            {
                if (_written >= _users + Tail(_users))
                {
                    _replyTo.Tell(_snapshotBytes);
                    return;
                }

                if (_written == _users && _snapshotBytes == 0)
                {
                    var snapshot = AuthServerSnapshot.Of(_state);
                    _snapshotBytes = Context.System.Serialization.FindSerializerFor(snapshot).ToBinary(snapshot).LongLength;
                    SaveSnapshot(snapshot);
                    return;
                }

                var batch = Enumerable.Range(_written, Math.Min(1000, (_written < _users ? _users : _users + Tail(_users)) - _written)).Select(NewUser).ToList();
                _written += batch.Count;
                var left = batch.Count;
                PersistAll(batch, evt =>
                {
                    _state = _state.Apply(evt);
                    if (--left == 0)
                    {
                        Self.Tell(Next.Instance);
                    }
                });
            });
            Command<SaveSnapshotSuccess>(_ => Self.Tell(Next.Instance));
            Command<SaveSnapshotFailure>(failed => _replyTo.Tell(new Status.Failure(failed.Cause)));
        }

        public override string PersistenceId { get; }

        private UserRegistered NewUser(int k)
        {
            var now = DateTimeOffset.UtcNow;
            using var certificate = _authority!.Issue(CertificateKind.User, $"user{k:D6}", _key.SubjectPublicKeyInfo, now.AddMinutes(-5), now.AddDays(365));
            return new UserRegistered($"user{k:D6}", certificate.RawData, now, "recovery benchmark");
        }

        protected override void PostStop()
        {
            _authority?.Dispose();
            _key.Dispose();
            base.PostStop();
        }

        public sealed record Go
        {
            public static readonly Go Instance = new();
        }

        private sealed record Next
        {
            public static readonly Next Instance = new();
        }
    }

    private sealed class Store(string kind, string dataDirectory, string? connection, Func<Task> drop) : IAsyncDisposable
    {
        public string Kind { get; } = kind;

        public string DataDirectory { get; } = dataDirectory;

        public string Hocon => connection is null ? string.Empty : $"actorvpn.persistence.connection-string = \"{connection}\"";

        public static Store Sqlite() => new(DurableStore.Sqlite, Directory.CreateTempSubdirectory("avpn-recovery").FullName, null, () => Task.CompletedTask);

        public static async Task<Store> PostgresAsync(string server)
        {
            var database = "avpn_recovery_" + Guid.NewGuid().ToString("N")[..12];
            await using (var c = new NpgsqlConnection(server))
            {
                await c.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", c);
                await create.ExecuteNonQueryAsync();
            }

            var connection = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
            return new Store(DurableStore.Postgres, Directory.CreateTempSubdirectory("avpn-recovery").FullName, connection, async () =>
            {
                NpgsqlConnection.ClearAllPools();
                await using var c = new NpgsqlConnection(server);
                await c.OpenAsync();
                await using var dropping = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE)", c);
                await dropping.ExecuteNonQueryAsync();
            });
        }

        /// <summary>The rows recovery reads: the latest snapshot of the persistence id, then its events after it.</summary>
        public async Task<double> RawReadAsync(string persistenceId)
        {
            var clock = Stopwatch.StartNew();
            long bytes = 0;
            if (connection is null)
            {
                await using var c = new SqliteConnection($"Data Source={Path.Combine(DataDirectory, "actorvpn.db")}");
                await c.OpenAsync();
                bytes = await ReadAsync(c, persistenceId);
            }
            else
            {
                await using var c = new NpgsqlConnection(connection);
                await c.OpenAsync();
                bytes = await ReadAsync(c, persistenceId);
            }

            return bytes > 0 ? clock.Elapsed.TotalMilliseconds : throw new InvalidOperationException("the raw read found nothing");
        }

        private static async Task<long> ReadAsync(System.Data.Common.DbConnection c, string persistenceId)
        {
            long bytes = 0;
            long snapshotAt = 0;
            await using (var snapshot = c.CreateCommand())
            {
                snapshot.CommandText = $"SELECT sequence_number, snapshot FROM snapshot WHERE persistence_id = '{persistenceId}' ORDER BY sequence_number DESC LIMIT 1";
                await using var reader = await snapshot.ExecuteReaderAsync();
                if (await reader.ReadAsync())
                {
                    snapshotAt = reader.GetInt64(0);
                    bytes += ((byte[])reader.GetValue(1)).LongLength;
                }
            }

            await using var events = c.CreateCommand();
            events.CommandText = $"SELECT message FROM journal WHERE persistence_id = '{persistenceId}' AND sequence_number > {snapshotAt} ORDER BY sequence_number";
            await using var rows = await events.ExecuteReaderAsync();
            while (await rows.ReadAsync())
            {
                bytes += ((byte[])rows.GetValue(0)).LongLength;
            }

            return bytes;
        }

        public async ValueTask DisposeAsync()
        {
            SqliteConnection.ClearAllPools();
            await drop();
            Directory.Delete(DataDirectory, recursive: true);
        }
    }
}
