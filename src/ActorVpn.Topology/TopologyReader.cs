using System.Text.RegularExpressions;
using ActorVpn.Topology.Hocon;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorVpn.Topology;

/// <summary>
/// Reads a topology file's text into a <see cref="TopologyModel"/>: parses the HOCON, checks each
/// section's shape (names, known keys, strings, objects) and then hands the model to
/// <see cref="TopologyValidator"/>. Collects every problem of a file before failing, so one run shows them all.
/// </summary>
internal sealed class TopologyReader(string source)
{
    private static readonly HashSet<string> AuthServerKeys = ["parent", "routes", "relays", "trusts"];
    private static readonly HashSet<string> ProxyKeys = ["auth-server", "listen"];
    private static readonly HashSet<string> UserKeys = ["auth-server"];
    private static readonly HashSet<string> SectionKeys = ["destinations", "auth-servers", "proxies", "users"];

    private readonly TopologyProblems _problems = new(source);

    /// <summary>The model the text declares, or the <see cref="TopologyException"/> listing every problem in it.</summary>
    public static TopologyModel Load(string text, string source)
    {
        var reader = new TopologyReader(source);
        var model = reader.Read(ParseRoot(text, source));
        reader._problems.ThrowIfAny();
        return model!;
    }

    private static HoconValue ParseRoot(string text, string source)
    {
        if (HoconPreLexer.UnbalancedBracket(text) is { } bracketProblem)
        {
            throw new TopologyException(source, "(syntax)", $"not valid HOCON: {bracketProblem}");
        }

        Config config;
        try
        {
            config = ConfigurationFactory.ParseString(HoconPreLexer.NormalizeObjectCommas(text));
        }
        catch (Exception e)
        {
            // The HOCON parser reports a character position; turn it into line:column.
            var message = e.Message.Split('\n')[0].Trim();
            var match = Regex.Match(message, @"position (\d+)");
            if (match.Success && int.TryParse(match.Groups[1].Value, out var position))
            {
                var (line, column) = HoconTextScanner.LineAndColumn(text, position);
                message = $"{Regex.Replace(message, @"\s*at position \d+:?", string.Empty)} at line {line}, column {column}";
            }

            throw new TopologyException(source, "(syntax)", $"not valid HOCON: {message}");
        }

        var topology = config.GetValue(TopologyLoader.RootPath);
        if (topology is null || !topology.IsObject())
        {
            // A client profile or operator credential (JSON, which HOCON also reads) given where a topology belongs.
            var kind = config.HasPath("profile") ? "a client profile (give it to --profile)" : config.HasPath("credential") ? "an operator credential (give it to --admin)" : null;
            throw new TopologyException(source, TopologyLoader.RootPath, kind is null
                ? "missing: a topology file holds one object 'actorvpn.topology { ... }'"
                : $"missing: this is {kind}, not a topology file, which holds one object 'actorvpn.topology {{ ... }}'");
        }

        return topology;
    }

    private void Problem(string path, string problem) => _problems.Add(path, problem);

    private TopologyModel? Read(HoconValue root)
    {
        var sections = Object(root, TopologyLoader.RootPath)!;
        foreach (var key in sections.Keys.Where(k => !SectionKeys.Contains(k)))
        {
            Problem($"{TopologyLoader.RootPath}.{key}", $"unknown section (expected one of: {string.Join(", ", SectionKeys)})");
        }

        var destinations = ReadDestinations(sections);
        var authServers = ReadAuthServers(sections);
        var proxies = ReadProxies(sections);
        var users = ReadUsers(sections);
        if (_problems.Any)
        {
            return null;
        }

        var model = new TopologyModel(source, destinations, authServers, proxies, users);
        TopologyValidator.CrossCheck(model, _problems);
        return model;
    }

    private Dictionary<string, HostPort> ReadDestinations(IReadOnlyDictionary<string, HoconValue> sections)
    {
        var result = new Dictionary<string, HostPort>(StringComparer.Ordinal);
        foreach (var (name, value) in Entries(sections, "destinations", required: true))
        {
            var path = $"{TopologyLoader.RootPath}.destinations.{name}";
            if (!CheckName(path, name) || String(value, path) is not { } text)
            {
                continue;
            }

            if (HostPort.TryParse(text, out var problem) is { } endpoint)
            {
                result[name] = endpoint;
            }
            else
            {
                Problem(path, problem!);
            }
        }

        return result;
    }

    private List<AuthServerSpec> ReadAuthServers(IReadOnlyDictionary<string, HoconValue> sections)
    {
        var result = new List<AuthServerSpec>();
        foreach (var (name, value) in Entries(sections, "auth-servers", required: true))
        {
            var path = $"{TopologyLoader.RootPath}.auth-servers.{name}";
            if (!CheckName(path, name) || Object(value, path) is not { } fields)
            {
                continue;
            }

            UnknownKeys(fields, path, AuthServerKeys);
            string? parent = fields.TryGetValue("parent", out var p) ? String(p, $"{path}.parent") : null;
            var routes = new Dictionary<string, RouteTarget>(StringComparer.Ordinal);
            foreach (var (destination, target) in NestedStrings(fields, "routes", path))
            {
                routes[destination] = target == "end" ? RouteTarget.End.Instance : new RouteTarget.Next(target);
            }

            var relays = NestedStrings(fields, "relays", path).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            var trusts = new List<string>();
            if (fields.TryGetValue("trusts", out var trustValue))
            {
                // Akka's HOCON does not count an empty list `[]` as an array.
                if (!trustValue.IsArray() && trustValue.Values is not [HoconArray { Count: 0 }])
                {
                    Problem($"{path}.trusts", "must be a list of auth server names, e.g. [as1, as2]");
                }
                else
                {
                    foreach (var item in trustValue.GetArray())
                    {
                        if (String(item, $"{path}.trusts") is { } trusted)
                        {
                            trusts.Add(trusted);
                        }
                    }
                }
            }

            result.Add(new AuthServerSpec(name, parent, routes, relays, trusts));
        }

        return result;
    }

    private List<ProxySpec> ReadProxies(IReadOnlyDictionary<string, HoconValue> sections)
    {
        var result = new List<ProxySpec>();
        foreach (var (name, value) in Entries(sections, "proxies", required: true))
        {
            var path = $"{TopologyLoader.RootPath}.proxies.{name}";
            if (!CheckName(path, name) || Object(value, path) is not { } fields)
            {
                continue;
            }

            UnknownKeys(fields, path, ProxyKeys);
            var owner = Required(fields, "auth-server", path);
            var listenText = Required(fields, "listen", path);
            HostPort? listen = null;
            if (listenText is not null)
            {
                listen = HostPort.TryParse(listenText, out var problem);
                if (listen is null)
                {
                    Problem($"{path}.listen", problem!);
                }
            }

            if (owner is not null && listen is { } endpoint)
            {
                result.Add(new ProxySpec(name, owner, endpoint));
            }
        }

        return result;
    }

    private List<UserSpec> ReadUsers(IReadOnlyDictionary<string, HoconValue> sections)
    {
        var result = new List<UserSpec>();
        foreach (var (name, value) in Entries(sections, "users", required: false))
        {
            var path = $"{TopologyLoader.RootPath}.users.{name}";
            if (!CheckName(path, name) || Object(value, path) is not { } fields)
            {
                continue;
            }

            UnknownKeys(fields, path, UserKeys);
            if (Required(fields, "auth-server", path) is { } home)
            {
                result.Add(new UserSpec(name, home));
            }
        }

        return result;
    }

    private bool CheckName(string path, string name)
    {
        if (TopologyLoader.IsValidName(name))
        {
            return true;
        }

        Problem(path, $"'{name}' is not a valid name (letters, digits, '-' and '_', at most 63 characters)");
        return false;
    }

    private void UnknownKeys(IReadOnlyDictionary<string, HoconValue> fields, string path, HashSet<string> allowed)
    {
        foreach (var key in fields.Keys.Where(k => !allowed.Contains(k)))
        {
            Problem($"{path}.{key}", $"unknown setting (expected one of: {string.Join(", ", allowed)})");
        }
    }

    private string? Required(IReadOnlyDictionary<string, HoconValue> fields, string key, string path)
    {
        if (fields.TryGetValue(key, out var value))
        {
            return String(value, $"{path}.{key}");
        }

        Problem($"{path}.{key}", "missing");
        return null;
    }

    private IEnumerable<KeyValuePair<string, HoconValue>> Entries(IReadOnlyDictionary<string, HoconValue> sections, string key, bool required)
    {
        if (!sections.TryGetValue(key, out var value))
        {
            if (required)
            {
                Problem($"{TopologyLoader.RootPath}.{key}", "missing");
            }

            return [];
        }

        return Object(value, $"{TopologyLoader.RootPath}.{key}") ?? (IEnumerable<KeyValuePair<string, HoconValue>>)[];
    }

    private IEnumerable<KeyValuePair<string, string>> NestedStrings(IReadOnlyDictionary<string, HoconValue> fields, string key, string path)
    {
        if (!fields.TryGetValue(key, out var value) || Object(value, $"{path}.{key}") is not { } entries)
        {
            yield break;
        }

        foreach (var (destination, target) in entries)
        {
            if (String(target, $"{path}.{key}.{destination}") is { } text)
            {
                yield return new(destination, text);
            }
        }
    }

    private IReadOnlyDictionary<string, HoconValue>? Object(HoconValue value, string path)
    {
        if (value.IsObject())
        {
            return value.GetObject().Items;
        }

        Problem(path, "must be an object { ... }");
        return null;
    }

    private string? String(HoconValue value, string path)
    {
        if (value.IsString() && value.GetString() is { Length: > 0 } text)
        {
            return text;
        }

        Problem(path, "must be a non-empty string");
        return null;
    }
}
