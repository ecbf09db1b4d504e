namespace ActorVpn.Topology;

/// <summary>
/// Cross-validation of a topology whose sections each read well on their own: every name one entry
/// gives (a parent, a route's next auth server, a relay proxy, a trusted server, a proxy's or user's
/// home) must exist, parents must not form a cycle, and two proxies must not listen on one address.
/// </summary>
internal static class TopologyValidator
{
    public static void CrossCheck(TopologyModel model, TopologyProblems problems)
    {
        foreach (var server in model.AuthServers)
        {
            var path = $"{TopologyLoader.RootPath}.auth-servers.{server.Name}";
            if (server.Parent is { } parent)
            {
                if (!model.HasAuthServer(parent))
                {
                    problems.Add($"{path}.parent", $"unknown auth server '{parent}'");
                }
                else if (Cycle(model, server.Name) is { } cycle)
                {
                    problems.Add($"{path}.parent", $"parent cycle: {string.Join(" -> ", cycle)}");
                }
            }

            foreach (var (destination, target) in server.Routes)
            {
                var routePath = $"{path}.routes.{destination}";
                if (!model.Destinations.ContainsKey(destination))
                {
                    problems.Add(routePath, $"unknown destination '{destination}'");
                }

                switch (target)
                {
                    case RouteTarget.Next next when next.AuthServer == server.Name:
                        problems.Add(routePath, "an auth server cannot route to itself");
                        break;
                    case RouteTarget.Next next when !model.HasAuthServer(next.AuthServer):
                        problems.Add(routePath, $"unknown auth server '{next.AuthServer}' (or 'end')");
                        break;
                    case RouteTarget.End when !server.Relays.ContainsKey(destination):
                        problems.Add(routePath, $"'end' needs a relay proxy for '{destination}' in {path}.relays");
                        break;
                }
            }

            foreach (var (destination, proxy) in server.Relays)
            {
                var relayPath = $"{path}.relays.{destination}";
                if (!model.Destinations.ContainsKey(destination))
                {
                    problems.Add(relayPath, $"unknown destination '{destination}'");
                }

                if (!model.HasProxy(proxy))
                {
                    problems.Add(relayPath, $"unknown proxy '{proxy}'");
                }
                else if (model.Proxy(proxy).AuthServer != server.Name)
                {
                    problems.Add(relayPath, $"proxy '{proxy}' belongs to auth server '{model.Proxy(proxy).AuthServer}', not to '{server.Name}'");
                }
            }

            foreach (var trusted in server.Trusts)
            {
                if (trusted == server.Name)
                {
                    problems.Add($"{path}.trusts", "an auth server does not need to trust itself");
                }
                else if (!model.HasAuthServer(trusted))
                {
                    problems.Add($"{path}.trusts", $"unknown auth server '{trusted}'");
                }
            }

            if (server.Trusts.Count != server.Trusts.Distinct().Count())
            {
                problems.Add($"{path}.trusts", "lists an auth server twice");
            }
        }

        var listeners = new Dictionary<HostPort, string>();
        foreach (var proxy in model.Proxies)
        {
            var path = $"{TopologyLoader.RootPath}.proxies.{proxy.Name}";
            if (!model.HasAuthServer(proxy.AuthServer))
            {
                problems.Add($"{path}.auth-server", $"unknown auth server '{proxy.AuthServer}'");
            }

            if (listeners.TryGetValue(proxy.Listen, out var other))
            {
                problems.Add($"{path}.listen", $"duplicate listen address {proxy.Listen} (also proxy '{other}')");
            }
            else
            {
                listeners[proxy.Listen] = proxy.Name;
            }
        }

        foreach (var user in model.Users.Where(u => !model.HasAuthServer(u.AuthServer)))
        {
            problems.Add($"{TopologyLoader.RootPath}.users.{user.Name}.auth-server", $"unknown auth server '{user.AuthServer}'");
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
}
