using System.Security.Cryptography;
using System.Text.Json;

namespace ActorVpn.Credentials;

/// <summary>
/// A kind of credential file avpn writes and reads back: its JSON section, the fields it must have, who writes
/// it and which option takes it, so a problem can be told in those terms.
/// </summary>
public sealed record CredentialFileKind(string Name, string Section, string WrittenBy, string Option, IReadOnlyList<string> RequiredFields)
{
    /// <summary>A client profile (<c>NAME.avpn</c>): certificate 1, its key, the home trust anchor and the entry proxies (Fig. 5, step 501).</summary>
    public static readonly CredentialFileKind ClientProfile = new("client profile", "profile",
        "`avpn up` (DATA/profiles/NAME.avpn) or `avpn user add NAME --out FILE`", "--profile",
        ["user", "homeServer", "certificatePem", "privateKeyPem", "trustAnchorPem", "entries"]);

    /// <summary>An operator credential (<c>admin.avpn</c>) for the console.</summary>
    public static readonly CredentialFileKind OperatorCredential = new("operator credential", "credential",
        "`avpn up` or `avpn node` (DATA/admin.avpn)", "--admin",
        ["endpoint", "consoleAnchorPem", "serverPin", "certificatePem", "privateKeyPem"]);

    private static readonly CredentialFileKind[] All = [ClientProfile, OperatorCredential];

    public static CredentialFileKind? Holding(JsonElement root) =>
        All.FirstOrDefault(k => root.ValueKind == JsonValueKind.Object && root.TryGetProperty(k.Section, out _));
}

/// <summary>
/// Reads a credential file, turning every way it can be wrong into one <see cref="CredentialException"/> that names
/// the file, the field and what to do about it, never a parser's internals.
/// </summary>
public static class CredentialFile
{
    public const int FormatVersion = 1;

    /// <summary>Reads <paramref name="path"/> as a file of <paramref name="kind"/>; <paramref name="check"/> proves its certificate and key usable.</summary>
    /// <exception cref="CredentialException">Missing, unreadable, not JSON, another kind of file, a field missing or unusable.</exception>
    public static T Read<T>(string path, CredentialFileKind kind, JsonSerializerOptions json, Action<T> check)
        where T : class
    {
        var root = ReadJson(path, kind);
        if (CredentialFileKind.Holding(root) is not { } held)
        {
            throw new CredentialException($"{path}: not {A(kind.Name)}: it has no '{kind.Section}' object. {Capital(A(kind.Name))} is written by {kind.WrittenBy}.");
        }

        if (held != kind)
        {
            throw new CredentialException($"{path} is {A(held.Name)}, not {A(kind.Name)}: give it to {held.Option}. {Capital(A(kind.Name))} is written by {kind.WrittenBy}.");
        }

        if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var number) || number != FormatVersion)
        {
            throw new CredentialException($"{path}: field 'version' must be {FormatVersion} (this avpn reads {kind.Name}s of version {FormatVersion}); write the file again with {kind.WrittenBy}.");
        }

        var section = root.GetProperty(kind.Section);
        foreach (var field in kind.RequiredFields)
        {
            if (section.ValueKind != JsonValueKind.Object || !section.TryGetProperty(field, out var value) || value.ValueKind is JsonValueKind.Null
                || (value.ValueKind == JsonValueKind.String && value.GetString()!.Length == 0))
            {
                throw new CredentialException($"{path}: field '{kind.Section}.{field}' is missing: the {kind.Name} is incomplete; write it again with {kind.WrittenBy}.");
            }
        }

        T loaded;
        try
        {
            loaded = section.Deserialize<T>(json) ?? throw new CredentialException($"{path}: '{kind.Section}' is empty");
        }
        catch (JsonException e)
        {
            var field = e.Path is { Length: > 2 } p ? $"{kind.Section}.{p[2..]}" : kind.Section;
            throw new CredentialException($"{path}: field '{field}' has the wrong type; write the {kind.Name} again with {kind.WrittenBy}.", e);
        }

        try
        {
            check(loaded);
        }
        catch (Exception e) when (e is CredentialException or CryptographicException or ArgumentException)
        {
            throw new CredentialException($"{path}: the certificate or private key in '{kind.Section}' is not usable ({e.Message.TrimEnd('.')}); write the {kind.Name} again with {kind.WrittenBy}.", e);
        }

        return loaded;
    }

    private static string A(string name) => (name[0] is 'a' or 'e' or 'i' or 'o' or 'u' ? "an " : "a ") + name;

    private static string Capital(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    private static JsonElement ReadJson(string path, CredentialFileKind kind)
    {
        string text;
        try
        {
            if (Directory.Exists(path))
            {
                throw new CredentialException($"{path} is a directory, not {A(kind.Name)} file.");
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CredentialException($"{path}: no such file. {Capital(A(kind.Name))} is written by {kind.WrittenBy}.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CredentialException($"{path}: cannot be read (permission denied): run avpn as the user who owns it, or give it to that user (it holds a private key: keep it 0600).", e);
        }
        catch (IOException e)
        {
            throw new CredentialException($"{path}: cannot be read: {e.Message}", e);
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1})" : string.Empty;
            throw new CredentialException($"{path}: not {A(kind.Name)}: the file is not JSON{where}. {Capital(A(kind.Name))} is written by {kind.WrittenBy}.", e);
        }
    }
}
