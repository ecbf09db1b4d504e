using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Xunit;

namespace ActorVpn.Persistence.Tests;

/// <summary>One empty store for one test: a temporary data directory, plus (PostgreSQL) a fresh database.</summary>
public sealed class TestStore(string store, string dataDirectory, string? connectionString, Func<Task> cleanup) : IAsyncDisposable
{
    /// <summary><c>sqlite</c> or <c>postgres</c> (<see cref="ActorVpn.Hosting.DurableStore"/>).</summary>
    public string Store { get; } = store;

    /// <summary><c>--data DIR</c>: the SQLite file and the key secret live here.</summary>
    public string DataDirectory { get; } = dataDirectory;

    /// <summary>Explicit connection string (PostgreSQL).</summary>
    public string? ConnectionString { get; } = connectionString;

    /// <summary>HOCON for the store, as an operator would set it (env AVPN_POSTGRES for PostgreSQL).</summary>
    public string Hocon => ConnectionString is null ? string.Empty
        : Store == "postgres" ? $"actorvpn.persistence.connection-string = \"{ConnectionString}\""
        : $"akka.persistence.journal.sql.connection-string = \"{ConnectionString}\"";

    public async ValueTask DisposeAsync()
    {
        await cleanup();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // a child process may still hold a file for a moment; the temp folder is cleaned anyway
        }
    }
}

/// <summary>The stores the same suite runs on.</summary>
public abstract class StoreKind
{
    public abstract string Name { get; }

    public abstract Task<TestStore> CreateAsync();

    /// <summary>A store that the test can make unavailable and bring back (<see cref="IOutage"/>).</summary>
    public abstract Task<IOutage> CreateOutageAsync();

    protected static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "avpn-persistence-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>A store that can become unreachable and come back.</summary>
public interface IOutage : IAsyncDisposable
{
    TestStore Store { get; }

    Task BreakAsync();

    Task RestoreAsync();
}

public sealed class SqliteKind : StoreKind
{
    public static readonly SqliteKind Instance = new();

    public override string Name => "sqlite";

    public override Task<TestStore> CreateAsync() =>
        Task.FromResult(new TestStore(Name, TempDirectory(), null, () => Task.CompletedTask));

    public override async Task<IOutage> CreateOutageAsync() => new FileOutage(await CreateAsync());

    /// <summary>
    /// The SQLite file becomes unavailable: it (and any journal/WAL files) is moved aside and a
    /// directory of the same name stands in its place, so every open fails ("unable to open database
    /// file"), even for root, whom file modes do not stop; pooled connections are dropped. Restoring
    /// puts the very same file back.
    /// </summary>
    private sealed class FileOutage(TestStore store) : IOutage
    {
        private string Database => Path.Combine(store.DataDirectory, "actorvpn.db");

        private string Aside => Path.Combine(store.DataDirectory, "aside");

        public TestStore Store => store;

        public Task BreakAsync()
        {
            Directory.CreateDirectory(Aside);
            foreach (var file in Directory.GetFiles(store.DataDirectory, "actorvpn.db*"))
            {
                File.Move(file, Path.Combine(Aside, Path.GetFileName(file)));
            }

            Directory.CreateDirectory(Database);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            return Task.CompletedTask;
        }

        public Task RestoreAsync()
        {
            Directory.Delete(Database, recursive: true);
            foreach (var file in Directory.GetFiles(Aside))
            {
                File.Move(file, Path.Combine(store.DataDirectory, Path.GetFileName(file)));
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => store.DisposeAsync();
    }
}

/// <summary>
/// A real PostgreSQL server: <c>scripts/test.sh</c> starts a private throwaway one and exports
/// AVPN_TEST_POSTGRES (a connection string to its <c>postgres</c> database) and AVPN_TEST_PGBIN.
/// Each test gets its own database; the outage test starts a second server of its own.
/// </summary>
public sealed class PostgresKind : StoreKind
{
    public static readonly PostgresKind Instance = new();

    public static string? Server => Environment.GetEnvironmentVariable("AVPN_TEST_POSTGRES") is { Length: > 0 } s ? s : null;

    public static string? Bin => Environment.GetEnvironmentVariable("AVPN_TEST_PGBIN") is { Length: > 0 } s ? s : null;

    public override string Name => "postgres";

    public static void SkipUnlessAvailable() =>
        Skip.If(Server is null, "no PostgreSQL: AVPN_TEST_POSTGRES is not set (scripts/test.sh starts a private server; it could not be started here)");

    public override async Task<TestStore> CreateAsync()
    {
        SkipUnlessAvailable();
        return await CreateDatabaseAsync(Server!);
    }

    private static async Task<TestStore> CreateDatabaseAsync(string server)
    {
        var database = "t_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
            await command.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(server) { Database = database };
        return new TestStore("postgres", TempDirectory(), builder.ConnectionString, () => Task.CompletedTask);
    }

    /// <summary>A store on a private server of its own, which the test may stop and start (<see cref="IOutage"/>).</summary>
    public override async Task<IOutage> CreateOutageAsync()
    {
        SkipUnlessAvailable();
        Skip.If(Bin is null, "AVPN_TEST_PGBIN is not set: cannot start a private PostgreSQL server to stop and restart");
        var server = await PrivateServer.StartAsync(Bin!);
        try
        {
            var store = await CreateDatabaseAsync(server.ConnectionString);
            return new ServerOutage(server, store);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private sealed class ServerOutage(PrivateServer server, TestStore store) : IOutage
    {
        public TestStore Store => store;

        public Task BreakAsync() => server.StopAsync();

        public Task RestoreAsync() => server.StartAgainAsync();

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await server.DisposeAsync();
            await store.DisposeAsync();
        }
    }

    /// <summary>The toolchain recipe: initdb + pg_ctl as user postgres, trust auth, loopback, a free port.</summary>
    private sealed class PrivateServer : IAsyncDisposable
    {
        private readonly string _bin;
        private readonly string _data;
        private readonly int _port;

        private PrivateServer(string bin, string data, int port)
        {
            _bin = bin;
            _data = data;
            _port = port;
        }

        public string ConnectionString => $"Host=127.0.0.1;Port={_port};Database=postgres;Username=postgres;Timeout=3";

        public static async Task<PrivateServer> StartAsync(string bin)
        {
            var data = Path.Combine("/tmp", "avpn-pg-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(data);
            await RunAsync("chown", "postgres", data);
            await RunAsync("chmod", "700", data);
            var server = new PrivateServer(bin, data, FreePort());
            await AsPostgres(Path.Combine(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync");
            await server.StartAgainAsync();
            return server;
        }

        public Task StartAgainAsync() => AsPostgres(Path.Combine(_bin, "pg_ctl"), "-D", _data, "-l", Path.Combine(_data, "log"), "-w", "-t", "30",
            "-o", $"-c listen_addresses=127.0.0.1 -p {_port} -k /tmp -c fsync=off", "start");

        public Task StopAsync() => AsPostgres(Path.Combine(_bin, "pg_ctl"), "-D", _data, "-m", "immediate", "-w", "-t", "30", "stop");

        public async ValueTask DisposeAsync()
        {
            try
            {
                await StopAsync();
            }
            catch (InvalidOperationException)
            {
                // already stopped
            }

            Directory.Delete(_data, recursive: true);
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        private static Task AsPostgres(params string[] command) => RunAsync("runuser", ["-u", "postgres", "--", .. command]);

        private static async Task RunAsync(string file, params string[] arguments)
        {
            var start = new ProcessStartInfo("timeout", ["60", file, .. arguments])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output}{await error}");
            }
        }
    }
}
