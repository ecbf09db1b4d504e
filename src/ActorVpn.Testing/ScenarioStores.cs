using Npgsql;

namespace ActorVpn.Testing;

/// <summary>Durable stores for scenarios.</summary>
public static class ScenarioStores
{
    /// <summary>The PostgreSQL server for tests (AVPN_TEST_POSTGRES, a connection string to its <c>postgres</c> database; scripts/test.sh starts one), or null.</summary>
    public static string? TestServer => Environment.GetEnvironmentVariable("AVPN_TEST_POSTGRES") is { Length: > 0 } s ? s : null;

    /// <summary>A fresh database on <see cref="TestServer"/> (its connection string), or null when there is no test server.</summary>
    public static async Task<string?> PostgresDatabaseAsync()
    {
        if (TestServer is not { } server)
        {
            return null;
        }

        var database = "scenario_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
    }
}
