using System.Text;

namespace ActorVpn.Topology;

/// <summary>Writes a model back as a topology file that <see cref="TopologyLoader"/> reads to the same model.</summary>
public static class TopologyWriter
{
    /// <summary>Renders a model back to HOCON (used by tests and by `avpn` to show the effective topology).</summary>
    public static string ToHocon(TopologyModel model)
    {
        var text = new StringBuilder();
        text.AppendLine($"{TopologyLoader.RootPath} {{");
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
