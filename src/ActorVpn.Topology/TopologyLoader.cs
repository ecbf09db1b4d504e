using System.Text;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorVpn.Topology;

/// <summary>
/// Reads and validates a topology file. Every problem is reported as a
/// <see cref="TopologyException"/> naming the file, the HOCON path and what is wrong; nothing here
/// lets a parser's stack trace reach the user.
/// </summary>
public static partial class TopologyLoader
{
    public const string RootPath = "actorvpn.topology";

    private static readonly HashSet<string> AuthServerKeys = ["parent", "routes", "relays", "trusts"];
    private static readonly HashSet<string> ProxyKeys = ["auth-server", "listen"];
    private static readonly HashSet<string> UserKeys = ["auth-server"];
    private static readonly HashSet<string> SectionKeys = ["destinations", "auth-servers", "proxies", "users"];

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")]
    private static partial Regex NamePattern();

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public static TopologyModel LoadFile(string path)
    {
        string text;
        try
        {
            if (System.IO.Directory.Exists(path))
            {
                throw new TopologyException(path, "(file)", "cannot read the topology file: it is a directory; give the HOCON file itself");
            }

            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TopologyException(path, "(file)", "cannot read the topology file: no such file (hocon/topology.example.hocon shows the format)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new TopologyException(path, "(file)", $"cannot read the topology file: {e.Message}");
        }

        return LoadText(text, path);
    }

    public static TopologyModel LoadText(string text, string source)
    {
        var root = Parse(text, source);
        var reader = new Reader(source);
        var model = reader.Read(root);
        reader.ThrowIfAny();
        return model!;
    }

    private static HoconValue Parse(string text, string source)
    {
        if (UnbalancedBracket(text) is { } bracketProblem)
        {
            throw new TopologyException(source, "(syntax)", $"not valid HOCON: {bracketProblem}");
        }

        Config config;
        try
        {
            config = ConfigurationFactory.ParseString(NormalizeObjectCommas(text));
        }
        catch (Exception e)
        {
            // The HOCON parser reports a character position; turn it into line:column.
            var message = e.Message.Split('\n')[0].Trim();
            var match = Regex.Match(message, @"position (\d+)");
            if (match.Success && int.TryParse(match.Groups[1].Value, out var position))
            {
                var (line, column) = LineAndColumn(text, position);
                message = $"{Regex.Replace(message, @"\s*at position \d+:?", string.Empty)} at line {line}, column {column}";
            }

            throw new TopologyException(source, "(syntax)", $"not valid HOCON: {message}");
        }

        var topology = config.GetValue(RootPath);
        if (topology is null || !topology.IsObject())
        {
            // A client profile or operator credential (JSON, which HOCON also reads) given where a topology belongs.
            var kind = config.HasPath("profile") ? "a client profile (give it to --profile)" : config.HasPath("credential") ? "an operator credential (give it to --admin)" : null;
            throw new TopologyException(source, RootPath, kind is null
                ? "missing: a topology file holds one object 'actorvpn.topology { ... }'"
                : $"missing: this is {kind}, not a topology file, which holds one object 'actorvpn.topology {{ ... }}'");
        }

        return topology;
    }

    /// <summary>
    /// HOCON allows a comma after a nested object (<c>relays { server = proxy2 }, trusts = [as1]</c>, as
    /// in the contract's example); Akka's HOCON tokenizer rejects it. A comma and white space are the
    /// same separator in HOCON, so this turns such commas into spaces, outside strings and comments,
    /// keeping every character position (for error messages) where it was.
    /// </summary>
    internal static string NormalizeObjectCommas(string text)
    {
        var chars = text.ToCharArray();
        bool afterObject = false;
        for (int i = 0; i < chars.Length; i++)
        {
            char c = chars[i];
            if (c == '"')
            {
                afterObject = false;
                bool triple = i + 2 < chars.Length && chars[i + 1] == '"' && chars[i + 2] == '"';
                if (triple)
                {
                    int end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    i = end < 0 ? chars.Length : end + 2;
                }
                else
                {
                    for (i++; i < chars.Length && chars[i] != '"' && chars[i] != '\n'; i++)
                    {
                        if (chars[i] == '\\')
                        {
                            i++;
                        }
                    }
                }

                continue;
            }

            if (c == '#' || (c == '/' && i + 1 < chars.Length && chars[i + 1] == '/'))
            {
                while (i < chars.Length && chars[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            if (c == '}')
            {
                afterObject = true;
            }
            else if (c == ',' && afterObject)
            {
                chars[i] = ' ';
                afterObject = false;
            }
            else if (!char.IsWhiteSpace(c))
            {
                afterObject = false;
            }
        }

        return new string(chars);
    }

    /// <summary>
    /// Akka's HOCON parser never returns on a list left open inside an object (<c>trusts = [as1 }</c>),
    /// and silently ignores a stray closing brace; so brackets are checked first, outside strings and
    /// comments (unquoted HOCON text cannot contain brackets).
    /// </summary>
    public static string? UnbalancedBracket(string text)
    {
        var open = new Stack<(char Bracket, int Position)>();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '"')
            {
                if (i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"')
                {
                    int end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    i = end < 0 ? text.Length : end + 2;
                }
                else
                {
                    for (i++; i < text.Length && text[i] != '"' && text[i] != '\n'; i++)
                    {
                        if (text[i] == '\\')
                        {
                            i++;
                        }
                    }
                }
            }
            else if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
            }
            else if (c is '{' or '[')
            {
                open.Push((c, i));
            }
            else if (c is '}' or ']')
            {
                var (line, column) = LineAndColumn(text, i);
                if (!open.TryPop(out var opened))
                {
                    return $"'{c}' at line {line}, column {column} closes nothing";
                }

                if (opened.Bracket != (c == '}' ? '{' : '['))
                {
                    var (openLine, openColumn) = LineAndColumn(text, opened.Position);
                    return $"'{c}' at line {line}, column {column} does not close the '{opened.Bracket}' opened at line {openLine}, column {openColumn}";
                }
            }
        }

        if (open.TryPeek(out var unclosed))
        {
            var (line, column) = LineAndColumn(text, unclosed.Position);
            return $"'{unclosed.Bracket}' opened at line {line}, column {column} is never closed";
        }

        return null;
    }

    private static (int Line, int Column) LineAndColumn(string text, int position)
    {
        int line = 1, column = 1;
        for (int i = 0; i < Math.Min(position, text.Length); i++)
        {
            if (text[i] == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }

        return (line, column);
    }

    /// <summary>Collects every problem of a file before failing, so one run shows them all.</summary>
    private sealed class Reader(string source)
    {
        private readonly List<TopologyException> _problems = [];

        public void ThrowIfAny()
        {
            if (_problems.Count == 1)
            {
                throw _problems[0];
            }

            if (_problems.Count > 1)
            {
                throw new TopologyException(_problems);
            }
        }

        private void Problem(string path, string problem) => _problems.Add(new TopologyException(source, path, problem));

        public TopologyModel? Read(HoconValue root)
        {
            var sections = Object(root, RootPath)!;
            foreach (var key in sections.Keys.Where(k => !SectionKeys.Contains(k)))
            {
                Problem($"{RootPath}.{key}", $"unknown section (expected one of: {string.Join(", ", SectionKeys)})");
            }

            var destinations = ReadDestinations(sections);
            var authServers = ReadAuthServers(sections);
            var proxies = ReadProxies(sections);
            var users = ReadUsers(sections);
            if (_problems.Count > 0)
            {
                return null;
            }

            var model = new TopologyModel(source, destinations, authServers, proxies, users);
            CrossCheck(model);
            return model;
        }

        private Dictionary<string, HostPort> ReadDestinations(IReadOnlyDictionary<string, HoconValue> sections)
        {
            var result = new Dictionary<string, HostPort>(StringComparer.Ordinal);
            foreach (var (name, value) in Entries(sections, "destinations", required: true))
            {
                var path = $"{RootPath}.destinations.{name}";
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
                var path = $"{RootPath}.auth-servers.{name}";
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
                var path = $"{RootPath}.proxies.{name}";
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
                var path = $"{RootPath}.users.{name}";
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

        private void CrossCheck(TopologyModel model)
        {
            foreach (var server in model.AuthServers)
            {
                var path = $"{RootPath}.auth-servers.{server.Name}";
                if (server.Parent is { } parent)
                {
                    if (!model.HasAuthServer(parent))
                    {
                        Problem($"{path}.parent", $"unknown auth server '{parent}'");
                    }
                    else if (Cycle(model, server.Name) is { } cycle)
                    {
                        Problem($"{path}.parent", $"parent cycle: {string.Join(" -> ", cycle)}");
                    }
                }

                foreach (var (destination, target) in server.Routes)
                {
                    var routePath = $"{path}.routes.{destination}";
                    if (!model.Destinations.ContainsKey(destination))
                    {
                        Problem(routePath, $"unknown destination '{destination}'");
                    }

                    switch (target)
                    {
                        case RouteTarget.Next next when next.AuthServer == server.Name:
                            Problem(routePath, "an auth server cannot route to itself");
                            break;
                        case RouteTarget.Next next when !model.HasAuthServer(next.AuthServer):
                            Problem(routePath, $"unknown auth server '{next.AuthServer}' (or 'end')");
                            break;
                        case RouteTarget.End when !server.Relays.ContainsKey(destination):
                            Problem(routePath, $"'end' needs a relay proxy for '{destination}' in {path}.relays");
                            break;
                    }
                }

                foreach (var (destination, proxy) in server.Relays)
                {
                    var relayPath = $"{path}.relays.{destination}";
                    if (!model.Destinations.ContainsKey(destination))
                    {
                        Problem(relayPath, $"unknown destination '{destination}'");
                    }

                    if (!model.HasProxy(proxy))
                    {
                        Problem(relayPath, $"unknown proxy '{proxy}'");
                    }
                    else if (model.Proxy(proxy).AuthServer != server.Name)
                    {
                        Problem(relayPath, $"proxy '{proxy}' belongs to auth server '{model.Proxy(proxy).AuthServer}', not to '{server.Name}'");
                    }
                }

                foreach (var trusted in server.Trusts)
                {
                    if (trusted == server.Name)
                    {
                        Problem($"{path}.trusts", "an auth server does not need to trust itself");
                    }
                    else if (!model.HasAuthServer(trusted))
                    {
                        Problem($"{path}.trusts", $"unknown auth server '{trusted}'");
                    }
                }

                if (server.Trusts.Count != server.Trusts.Distinct().Count())
                {
                    Problem($"{path}.trusts", "lists an auth server twice");
                }
            }

            var listeners = new Dictionary<HostPort, string>();
            foreach (var proxy in model.Proxies)
            {
                var path = $"{RootPath}.proxies.{proxy.Name}";
                if (!model.HasAuthServer(proxy.AuthServer))
                {
                    Problem($"{path}.auth-server", $"unknown auth server '{proxy.AuthServer}'");
                }

                if (listeners.TryGetValue(proxy.Listen, out var other))
                {
                    Problem($"{path}.listen", $"duplicate listen address {proxy.Listen} (also proxy '{other}')");
                }
                else
                {
                    listeners[proxy.Listen] = proxy.Name;
                }
            }

            foreach (var user in model.Users.Where(u => !model.HasAuthServer(u.AuthServer)))
            {
                Problem($"{RootPath}.users.{user.Name}.auth-server", $"unknown auth server '{user.AuthServer}'");
            }
        }

        private static List<string>? Cycle(TopologyModel model, string start)
        {
            var seen = new List<string> { start };
            for (var current = model.AuthServer(start).Parent; current is not null; current = model.HasAuthServer(current) ? model.AuthServer(current).Parent : null)
            {
                if (seen.Contains(current))
                {
                    seen.Add(current);
                    return current == start ? seen : null; // report a cycle once, at a server on it
                }

                seen.Add(current);
            }

            return null;
        }

        private bool CheckName(string path, string name)
        {
            if (IsValidName(name))
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
                    Problem($"{RootPath}.{key}", "missing");
                }

                return [];
            }

            return Object(value, $"{RootPath}.{key}") ?? (IEnumerable<KeyValuePair<string, HoconValue>>)[];
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

    /// <summary>Renders a model back to HOCON (used by tests and by `avpn` to show the effective topology).</summary>
    public static string ToHocon(TopologyModel model)
    {
        var text = new StringBuilder();
        text.AppendLine($"{RootPath} {{");
        text.AppendLine("  destinations {");
        foreach (var (name, endpoint) in model.Destinations)
        {
            text.AppendLine($"    {name} = \"{endpoint}\"");
        }

        text.AppendLine("  }");
        text.AppendLine("  auth-servers {");
        foreach (var server in model.AuthServers)
        {
            text.AppendLine($"    {server.Name} {{");
            if (server.Parent is not null)
            {
                text.AppendLine($"      parent = {server.Parent}");
            }

            text.AppendLine($"      routes {{ {string.Join(", ", server.Routes.Select(r => $"{r.Key} = {r.Value}"))} }}");
            text.AppendLine($"      relays {{ {string.Join(", ", server.Relays.Select(r => $"{r.Key} = {r.Value}"))} }}");
            text.AppendLine($"      trusts = [{string.Join(", ", server.Trusts)}]");
            text.AppendLine("    }");
        }

        text.AppendLine("  }");
        text.AppendLine("  proxies {");
        foreach (var proxy in model.Proxies)
        {
            text.AppendLine($"    {proxy.Name} {{ auth-server = {proxy.AuthServer}, listen = \"{proxy.Listen}\" }}");
        }

        text.AppendLine("  }");
        text.AppendLine("  users {");
        foreach (var user in model.Users)
        {
            text.AppendLine($"    {user.Name} {{ auth-server = {user.AuthServer} }}");
        }

        text.AppendLine("  }");
        text.AppendLine("}");
        return text.ToString();
    }
}
