using System.Net;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole.Commands;
using ActorVpn.OperatorConsole.Host;
using ActorVpn.Topology;
using Akka.Actor;
using Akka.Configuration;

namespace ActorVpn.OperatorConsole;

/// <summary>
/// Starts a node's operator console: the console authority, the console actor on its
/// endpoint, and the operator credential (<c>DATA/admin.avpn</c>) that opens it. With a data
/// directory the authority is kept there (<c>DATA/console-authority.json</c>) and an
/// <c>admin.avpn</c> it issued earlier keeps working across restarts (its endpoint is updated if
/// the console moved); without one, both live in memory only.
/// </summary>
public sealed class ConsoleHost : IDisposable
{
    /// <summary>The HOCON layer (hocon/console.hocon): endpoint, limits, and the ring-buffer logger for <c>log peek</c>.</summary>
    public const string Layer = "console";

    /// <summary>The console authority's file, next to <c>admin.avpn</c>.</summary>
    public const string AuthorityFile = "console-authority.json";

    private readonly ConsoleAuthority _authority;

    private ConsoleHost(ConsoleAuthority authority, string address, OperatorCredential credential, bool keptCredential)
    {
        _authority = authority;
        Address = address;
        Credential = credential;
        KeptCredential = keptCredential;
    }

    /// <summary>True when an <c>admin.avpn</c> of an earlier start was kept (and still opens the console).</summary>
    public bool KeptCredential { get; }

    /// <summary>Where the console really listens (the endpoint may ask for port 0).</summary>
    public string Address { get; }

    /// <summary>The operator credential issued at set-up.</summary>
    public OperatorCredential Credential { get; }

    /// <param name="endpoint">HOST:PORT; default <c>actorvpn.console.endpoint</c> of the node's configuration.</param>
    /// <param name="adminPath">Where to write the operator credential (e.g. <c>DATA/admin.avpn</c>); null to keep it in memory only.</param>
    public static async Task<ConsoleHost> StartAsync(ConsoleNode node, string? endpoint = null, string? adminPath = null)
    {
        var config = node.System.Settings.Config;
        endpoint ??= config.GetString("actorvpn.console.endpoint", "127.0.0.1:9110");
        // An IP address with port 0 (tests) lets the OS pick; otherwise HOST:PORT as everywhere else.
        if (!IPEndPoint.TryParse(endpoint, out var address))
        {
            var parsed = HostPort.TryParse(endpoint, out var problem) ?? throw new ConfigurationException($"console endpoint: {problem}");
            address = new IPEndPoint(parsed.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(parsed.Host), parsed.Port);
        }
        var limits = ConsoleLimits.FromConfig(config);
        var commandTimeout = config.GetTimeSpan("actorvpn.console.command-timeout", TimeSpan.FromSeconds(30));

        var authority = adminPath is null
            ? ConsoleAuthority.Create(DateTimeOffset.UtcNow)
            : ConsoleAuthority.LoadOrCreate(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(adminPath))!, AuthorityFile), DateTimeOffset.UtcNow);
        IActorRef? host = null;
        try
        {
            if (adminPath is not null)
            {
                // Revoked operators stay revoked across restarts.
                authority.KeepOperatorsIn(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(adminPath))!, OperatorRegistry.FileName));
            }

            var operators = new OperatorCommands(authority);
            host = node.System.ActorOf(ConsoleHostActor.Props(address, authority, new ConsoleCommands(node, commandTimeout) { Operators = operators }, limits), ConsoleHostActor.Name);
            ConsoleHostActor.Listening listening;
            try
            {
                listening = await host.Ask<ConsoleHostActor.Listening>(ConsoleHostActor.AwaitListening.Instance, TimeSpan.FromSeconds(10));
            }
            catch (AskTimeoutException)
            {
                throw new InvalidOperationException($"the console did not start listening on {endpoint} (address in use? see the log)");
            }

            operators.Endpoint = listening.Address;
            var previous = adminPath is not null ? Existing(adminPath, authority) : null;
            var credential = previous ?? authority.IssueOperator("operator", listening.Address, DateTimeOffset.UtcNow);
            if (credential.Endpoint != listening.Address)
            {
                credential = credential with { Endpoint = listening.Address }; // the console moved: same certificate, new endpoint
            }

            if (previous is not null)
            {
                // One written before operators were recorded: recorded now, so `operator list` shows it and revoking its name refuses it.
                using var kept = CertificateText.FromPem(previous.CertificatePem);
                authority.Operators.Issued(kept.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, forIssuer: false), kept.SerialNumber, DateTimeOffset.UtcNow);
            }

            if (adminPath is not null && credential != previous)
            {
                credential.Save(adminPath);
            }

            return new ConsoleHost(authority, listening.Address, credential, previous is not null);
        }
        catch
        {
            if (host is not null)
            {
                node.System.Stop(host); // no console without its credential: stop listening
            }

            authority.Dispose();
            throw;
        }
    }

    /// <summary>The operator credential at <paramref name="path"/> if this console's authority issued it and it is valid now.</summary>
    private static OperatorCredential? Existing(string path, ConsoleAuthority authority)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var existing = OperatorCredential.Load(path);
            return authority.Issued(existing, DateTimeOffset.UtcNow) ? existing : null;
        }
        catch (CredentialException)
        {
            return null; // unreadable or of another authority: a new one replaces it
        }
    }

    /// <summary>Another operator credential from the same console authority.</summary>
    public OperatorCredential IssueOperator(string name) => _authority.IssueOperator(name, Address, DateTimeOffset.UtcNow);

    public void Dispose() => _authority.Dispose();
}
