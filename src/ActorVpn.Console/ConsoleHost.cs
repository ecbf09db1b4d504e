using System.Net;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole.Commands;
using ActorVpn.OperatorConsole.Host;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;

namespace ActorVpn.OperatorConsole;

/// <summary>
/// Starts a node's operator console (issue 4): a fresh console authority, the console actor on its
/// endpoint, and the operator credential (<c>DATA/admin.avpn</c>) that opens it.
/// </summary>
public sealed class ConsoleHost : IDisposable
{
    /// <summary>The HOCON layer (hocon/console.hocon): endpoint, limits, and the ring-buffer logger for <c>log peek</c>.</summary>
    public const string Layer = "console";

    private readonly ConsoleAuthority _authority;

    private ConsoleHost(ConsoleAuthority authority, string address, OperatorCredential credential)
    {
        _authority = authority;
        Address = address;
        Credential = credential;
    }

    /// <summary>Where the console really listens (the endpoint may ask for port 0).</summary>
    public string Address { get; }

    /// <summary>The operator credential issued at set-up.</summary>
    public OperatorCredential Credential { get; }

    /// <param name="endpoint">HOST:PORT; default <c>actorvpn.console.endpoint</c> of the node's configuration.</param>
    /// <param name="adminPath">Where to write the operator credential (e.g. <c>DATA/admin.avpn</c>); null to keep it in memory only.</param>
    public static async Task<ConsoleHost> StartAsync(VpnNode node, string? endpoint = null, string? adminPath = null)
    {
        var config = node.System.Settings.Config;
        endpoint ??= config.GetString("actorvpn.console.endpoint", "127.0.0.1:9110");
        // An IP address with port 0 (tests) lets the OS pick; otherwise HOST:PORT as everywhere else.
        if (!IPEndPoint.TryParse(endpoint, out var address))
        {
            var parsed = HostPort.TryParse(endpoint, out var problem) ?? throw new ConfigurationException($"console endpoint: {problem}");
            address = new IPEndPoint(parsed.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(parsed.Host), parsed.Port);
        }
        var handshake = config.GetTimeSpan("actorvpn.console.handshake-timeout", TimeSpan.FromSeconds(10));
        var commandTimeout = config.GetTimeSpan("actorvpn.console.command-timeout", TimeSpan.FromSeconds(30));

        var authority = ConsoleAuthority.Create(DateTimeOffset.UtcNow);
        try
        {
            var host = node.System.ActorOf(ConsoleHostActor.Props(address, authority, new ConsoleCommands(node, commandTimeout), handshake), ConsoleHostActor.Name);
            ConsoleHostActor.Listening listening;
            try
            {
                listening = await host.Ask<ConsoleHostActor.Listening>(ConsoleHostActor.AwaitListening.Instance, TimeSpan.FromSeconds(10));
            }
            catch (AskTimeoutException)
            {
                throw new InvalidOperationException($"the console did not start listening on {endpoint} (address in use? see the log)");
            }

            var credential = authority.IssueOperator("operator", listening.Address, DateTimeOffset.UtcNow);
            if (adminPath is not null)
            {
                credential.Save(adminPath);
            }

            return new ConsoleHost(authority, listening.Address, credential);
        }
        catch
        {
            authority.Dispose();
            throw;
        }
    }

    /// <summary>Another operator credential from the same console authority.</summary>
    public OperatorCredential IssueOperator(string name) => _authority.IssueOperator(name, Address, DateTimeOffset.UtcNow);

    public void Dispose() => _authority.Dispose();
}
