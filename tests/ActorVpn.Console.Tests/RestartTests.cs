using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Topology;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary><c>DATA/admin.avpn</c> and the console authority outlive a restart of the node (<c>avpn up --data DIR</c> twice).</summary>
public sealed class RestartTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"avpn-console-{Guid.NewGuid():N}");

    private string AdminPath => Path.Combine(_data, "admin.avpn");

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Fact]
    public async Task An_admin_credential_from_before_a_restart_keeps_opening_the_console()
    {
        OperatorCredential before;
        await using (var node = await StartNodeAsync())
        {
            using var first = await ConsoleHost.StartAsync(new SingleProcessConsoleNode(node), "127.0.0.1:0", AdminPath);
            Assert.False(first.KeptCredential);
            before = OperatorCredential.Load(AdminPath);
            Assert.Equal(first.Credential, before);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_data, ConsoleHost.AuthorityFile)));
            }
        }

        await using (var node = await StartNodeAsync())
        {
            using var second = await ConsoleHost.StartAsync(new SingleProcessConsoleNode(node), "127.0.0.1:0", AdminPath);
            Assert.True(second.KeptCredential);

            // The same certificate and key, the same console identity; only the endpoint follows the new (ephemeral) port.
            var after = OperatorCredential.Load(AdminPath);
            Assert.Equal(before with { Endpoint = second.Address }, after);
            await using var client = await ConsoleClient.ConnectAsync(before with { Endpoint = second.Address }, ConsoleFixture.Deadline);
            Assert.Equal(ConsoleReply.Ok, (await client.RunAsync(["auth", "list"])).Exit);
        }
    }

    [Fact]
    public async Task An_admin_file_the_console_did_not_issue_is_replaced_by_a_new_credential()
    {
        using var stranger = ConsoleAuthority.Create(DateTimeOffset.UtcNow);
        Directory.CreateDirectory(_data);
        var foreign = stranger.IssueOperator("mallory", "127.0.0.1:9110", DateTimeOffset.UtcNow);
        await using (var node = await StartNodeAsync())
        {
            using var first = await ConsoleHost.StartAsync(new SingleProcessConsoleNode(node), "127.0.0.1:0", AdminPath); // creates the authority
        }

        foreign.Save(AdminPath);
        await using (var node = await StartNodeAsync())
        {
            using var console = await ConsoleHost.StartAsync(new SingleProcessConsoleNode(node), "127.0.0.1:0", AdminPath);
            Assert.False(console.KeptCredential);
            var written = OperatorCredential.Load(AdminPath);
            Assert.NotEqual(foreign.CertificatePem, written.CertificatePem);
            await using var client = await ConsoleClient.ConnectAsync(written, ConsoleFixture.Deadline);
            Assert.Equal(ConsoleReply.Ok, (await client.RunAsync(["user", "list"])).Exit);
        }
    }

    [Fact]
    public async Task A_damaged_authority_file_is_a_clear_error_naming_it()
    {
        Directory.CreateDirectory(_data);
        await File.WriteAllTextAsync(Path.Combine(_data, ConsoleHost.AuthorityFile), "{ not json");
        await using var node = await StartNodeAsync();
        var error = await Assert.ThrowsAsync<CredentialException>(() => ConsoleHost.StartAsync(new SingleProcessConsoleNode(node), "127.0.0.1:0", AdminPath));
        Assert.Contains(ConsoleHost.AuthorityFile, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a usable console authority", error.Message, StringComparison.Ordinal);
    }

    private static async Task<VpnNode> StartNodeAsync()
    {
        var loaded = TopologyLoader.LoadText(ExampleTopology.Text, "restart test topology");
        var topology = new TopologyModel(loaded.Source, loaded.Destinations, loaded.AuthServers,
            loaded.Proxies.Select(p => p with { Listen = new HostPort("127.0.0.1", 0) }).ToList(), loaded.Users);
        return await VpnNode.StartAsync(topology, ConfigurationFactory.ParseString("akka.loglevel = WARNING"), [HoconLayers.PersistenceInMemory, ConsoleHost.Layer]);
    }
}
