using System.Security.Cryptography;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Credentials;
using Akka.Configuration;

namespace ActorVpn.Hosting;

/// <summary>
/// Completes the persistence layer of a node's configuration at start-up: the SQLite file under the
/// data directory, or the PostgreSQL connection string from <c>AVPN_POSTGRES</c>, copied into both
/// Akka.Persistence.Sql plugins (journal, snapshots, and the read journal the audit trail is queried through); and the secret that protects each auth
/// server's signing key at rest. Missing settings fail fast with a message naming the key.
/// </summary>
public static class DurableStore
{
    public const string Memory = "memory";
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    public const string KeySecretFile = "key-secret";

    /// <summary>The concern layer for a store name (<c>--store</c>).</summary>
    public static string LayerFor(string store) => store switch
    {
        Memory => HoconLayers.PersistenceInMemory,
        Sqlite => "persistence.sqlite",
        Postgres => "persistence.postgres",
        _ => throw new ConfigurationException($"unknown store '{store}' (known: {Memory}, {Sqlite}, {Postgres})"),
    };

    public static string StoreOf(Config config) => config.GetString("actorvpn.persistence.store", Memory);

    /// <summary>The configuration with both plugins' connection strings filled in.</summary>
    /// <param name="dataDirectory">Where the SQLite file and the key secret live (<c>--data DIR</c>).</param>
    public static Config Complete(Config config, string? dataDirectory)
    {
        var store = StoreOf(config);
        string connection;
        switch (store)
        {
            case Memory:
                return config;
            case Sqlite:
                var explicitConnection = config.GetString("akka.persistence.journal.sql.connection-string", "");
                if (explicitConnection.Length > 0)
                {
                    connection = explicitConnection;
                    break;
                }

                if (dataDirectory is null)
                {
                    throw new ConfigurationException("actorvpn.persistence.store = sqlite needs a data directory (avpn up --data DIR)");
                }

                // The store holds every user's certificate and the wrapped signing keys: owner only (SQLite gives its journal files the same mode).
                SecretFiles.PrivateDirectory(dataDirectory);
                var file = Path.Combine(Path.GetFullPath(dataDirectory), config.GetString("actorvpn.persistence.sqlite-file", "actorvpn.db"));
                SecretFiles.PrivateFile(file);
                connection = $"Data Source={file}";
                InitializeSqlite(connection, file);
                break;
            case Postgres:
                connection = config.GetString("actorvpn.persistence.connection-string", "");
                if (connection.Length == 0)
                {
                    throw new ConfigurationException("actorvpn.persistence.connection-string is empty: set AVPN_POSTGRES to the PostgreSQL connection string");
                }

                break;
            default:
                throw new ConfigurationException($"actorvpn.persistence.store: unknown store '{store}' (known: {Memory}, {Sqlite}, {Postgres})");
        }

        var quoted = Quote(connection);
        return ConfigurationFactory.ParseString(
                $"akka.persistence.journal.sql.connection-string = {quoted}\nakka.persistence.snapshot-store.sql.connection-string = {quoted}\nakka.persistence.query.journal.sql.connection-string = {quoted}")
            .WithFallback(config);
    }

    /// <summary>
    /// The secret that protects signing keys at rest: <c>AVPN_KEY_SECRET</c> /
    /// <c>actorvpn.persistence.key-secret</c>, else <c>DIR/key-secret</c> (created with mode 0600 on
    /// first start). Null for the in-memory store without a data directory (keys die with the process).
    /// </summary>
    public static KeyProtection? KeyProtectionFor(Config config, string? dataDirectory)
    {
        var secret = config.GetString("actorvpn.persistence.key-secret", "");
        if (secret.Length > 0)
        {
            return new KeyProtection(secret);
        }

        if (dataDirectory is null)
        {
            return StoreOf(config) == Memory
                ? null
                : throw new ConfigurationException("actorvpn.persistence.key-secret is empty and there is no data directory for DIR/key-secret: set AVPN_KEY_SECRET");
        }

        var file = Path.Combine(dataDirectory, KeySecretFile);
        if (!File.Exists(file))
        {
            SecretFiles.PrivateDirectory(dataDirectory);
            SecretFiles.CreateNew(file, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        }

        var text = File.ReadAllText(file).Trim();
        return text.Length > 0 ? new KeyProtection(text) : throw new ConfigurationException($"{file} is empty: restore the key secret or set AVPN_KEY_SECRET");
    }

    /// <summary>
    /// Writes SQLite's header into the empty 0600 file <see cref="SecretFiles.PrivateFile"/> made, so the store opens it
    /// as a database (the journal plugin refuses an empty file) and SQLite never creates it with a wider mode.
    /// </summary>
    private static void InitializeSqlite(string connection, string file)
    {
        if (new FileInfo(file).Length > 0)
        {
            return;
        }

        using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection(connection);
        sqlite.Open();
        using var command = sqlite.CreateCommand();
        command.CommandText = "CREATE TABLE avpn_created (x); DROP TABLE avpn_created;";
        command.ExecuteNonQuery();
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
