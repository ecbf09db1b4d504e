using Npgsql;
using Xunit;

namespace ActorVpn.Cluster.Tests;

/// <summary>
/// The real PostgreSQL that scripts/test.sh starts (AVPN_TEST_POSTGRES, a connection string to its
/// <c>postgres</c> database); each test gets a database of its own. Without it the test skips, saying why.
/// </summary>
public static class TestPostgres
{
    public static string? Server => Environment.GetEnvironmentVariable("AVPN_TEST_POSTGRES") is { Length: > 0 } s ? s : null;

    public static async Task<string> CreateDatabaseAsync()
    {
        Skip.If(Server is null, "no PostgreSQL: AVPN_TEST_POSTGRES is not set (scripts/test.sh starts a private server; it could not be started here)");
        var database = "cluster_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(Server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(Server) { Database = database }.ConnectionString;
    }
}
