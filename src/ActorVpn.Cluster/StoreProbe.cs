using ActorVpn.Hosting;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ActorVpn.Cluster;

/// <summary>
/// "The store answers" for <c>/healthz/ready</c>: opens a connection to the journal's
/// database (the one Akka.Persistence.Sql writes to) and runs <c>SELECT 1</c> within a short
/// deadline. The in-memory journal always answers.
/// </summary>
public sealed class StoreProbe
{
    private readonly string _provider;
    private readonly string _connection;

    private StoreProbe(string provider, string connection)
    {
        _provider = provider;
        _connection = connection;
    }

    /// <summary>What the probe asks: <c>memory</c>, or the journal's provider name.</summary>
    public string Store => _provider.Length == 0 ? DurableStore.Memory : _provider;

    public static StoreProbe FromConfig(Config config)
    {
        var plugin = config.GetString("akka.persistence.journal.plugin", string.Empty);
        if (plugin != "akka.persistence.journal.sql")
        {
            return new StoreProbe(string.Empty, string.Empty);
        }

        return new StoreProbe(config.GetString("akka.persistence.journal.sql.provider-name", string.Empty),
            config.GetString("akka.persistence.journal.sql.connection-string", string.Empty));
    }

    /// <summary>True if the store answered a query within <paramref name="deadline"/>.</summary>
    public async Task<bool> AnswersAsync(TimeSpan deadline)
    {
        if (_provider.Length == 0)
        {
            return true;
        }

        using var cancel = new CancellationTokenSource(deadline);
        try
        {
            if (_provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase))
            {
                var builder = new NpgsqlConnectionStringBuilder(_connection) { Timeout = Math.Max(1, (int)deadline.TotalSeconds), Pooling = false };
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(cancel.Token);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                return await command.ExecuteScalarAsync(cancel.Token) is 1;
            }

            if (_provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase))
            {
                var builder = new SqliteConnectionStringBuilder(_connection);
                await using var connection = new SqliteConnection(builder.ConnectionString);
                await connection.OpenAsync(cancel.Token);
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT 1";
                return await command.ExecuteScalarAsync(cancel.Token) is 1L;
            }

            return true; // a provider this probe does not know: the journal's own failures stop the auth servers (fail closed)
        }
        catch (Exception e) when (e is NpgsqlException or SqliteException or OperationCanceledException or TimeoutException
                                      or System.Net.Sockets.SocketException or InvalidOperationException or ArgumentException)
        {
            return false;
        }
    }
}
