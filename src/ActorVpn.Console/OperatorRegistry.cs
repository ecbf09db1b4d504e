using System.Text.Json;
using ActorVpn.Credentials;

namespace ActorVpn.OperatorConsole;

/// <summary>
/// The named operators of a console: every operator certificate the console authority issued (name,
/// serial, when) and which of them are revoked. A revoked certificate fails the console's TLS
/// handshake, so a revoked operator cannot open the console even though its certificate is still
/// within its validity period. Revoking a name also refuses any certificate of that name this
/// registry never recorded (one issued before the registry existed), while a credential issued to
/// the same name afterwards works. With a data directory it is kept in <c>DATA/operators.json</c>
/// (no private keys; written to a temporary file and renamed, so a crash never leaves half a file).
/// Thread-safe: handshakes of several connections read it while a command changes it.
/// </summary>
public sealed class OperatorRegistry
{
    /// <summary>The registry's file, next to the console authority's.</summary>
    public const string FileName = "operators.json";

    private const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly Lock _gate = new();
    private readonly string? _path;
    private readonly List<OperatorEntry> _entries;
    private readonly Dictionary<string, DateTimeOffset> _revokedNames;

    private OperatorRegistry(string? path, List<OperatorEntry> entries, Dictionary<string, DateTimeOffset> revokedNames)
    {
        _path = path;
        _entries = entries;
        _revokedNames = revokedNames;
    }

    /// <summary>One operator certificate: its subject name, its serial (hex), when it was issued, and when it was revoked.</summary>
    public sealed record OperatorEntry(string Name, string Serial, DateTimeOffset IssuedAt, DateTimeOffset? RevokedAt);

    /// <summary>A registry that lives in memory only (a console without a data directory).</summary>
    public static OperatorRegistry InMemory() => new(null, [], new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal));

    /// <summary>The registry kept in <paramref name="path"/>, or an empty one that will be written there.</summary>
    /// <exception cref="CredentialException">The file exists but is not an operator registry.</exception>
    public static OperatorRegistry LoadOrCreate(string path)
    {
        if (!File.Exists(path))
        {
            return new OperatorRegistry(path, [], new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal));
        }

        try
        {
            var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path), Json);
            if (stored is not { Version: FormatVersion, Operators: not null, RevokedNames: not null })
            {
                throw new CredentialException("not an operator registry of this version");
            }

            return new OperatorRegistry(path, stored.Operators.ToList(), new Dictionary<string, DateTimeOffset>(stored.RevokedNames, StringComparer.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new CredentialException($"{path}: not a usable operator registry ({e.Message})", e);
        }
    }

    /// <summary>Every operator certificate issued, oldest first.</summary>
    public IReadOnlyList<OperatorEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return _entries.ToList();
            }
        }
    }

    /// <summary>Records a certificate issued to <paramref name="name"/>; one already recorded is left as it is.</summary>
    public void Issued(string name, string serial, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (_entries.Any(e => e.Serial == serial))
            {
                return;
            }

            _entries.Add(new OperatorEntry(name, serial, at, null));
            Save();
        }
    }

    /// <summary>Revokes every certificate of <paramref name="name"/>, recorded or not; the number of recorded ones newly revoked.</summary>
    /// <exception cref="InvalidOperationException">No certificate was ever issued to <paramref name="name"/> here.</exception>
    public int Revoke(string name, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (!_entries.Any(e => e.Name == name) && !_revokedNames.ContainsKey(name))
            {
                throw new InvalidOperationException($"no operator '{name}' was added on this console");
            }

            var revoked = 0;
            for (var k = 0; k < _entries.Count; k++)
            {
                if (_entries[k].Name == name && _entries[k].RevokedAt is null)
                {
                    _entries[k] = _entries[k] with { RevokedAt = at };
                    revoked++;
                }
            }

            _revokedNames.TryAdd(name, at);
            Save();
            return revoked;
        }
    }

    /// <summary>Is the certificate of <paramref name="name"/> with <paramref name="serial"/> revoked (or of a revoked name and never recorded)?</summary>
    public bool IsRevoked(string name, string serial)
    {
        lock (_gate)
        {
            return _entries.FirstOrDefault(e => e.Serial == serial) is { } entry
                ? entry.RevokedAt is not null
                : _revokedNames.ContainsKey(name);
        }
    }

    private void Save()
    {
        if (_path is null)
        {
            return;
        }

        // A revocation is in force once it is on disk (written 0600, flushed, renamed into place): a restart must not forget it.
        SecretFiles.Write(_path, JsonSerializer.Serialize(new Stored(FormatVersion, _entries, _revokedNames), Json));
    }

    private sealed record Stored(int Version, IReadOnlyList<OperatorEntry>? Operators, IReadOnlyDictionary<string, DateTimeOffset>? RevokedNames);
}
