using System.Text.Json;
using ActorVpn.OperatorConsole.Client;
using Xunit;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>Named operators: each gets its own credential, is named in the audit trail, and once revoked cannot open the console.</summary>
public sealed class OperatorTests
{
    [Fact]
    public async Task A_revoked_operator_cannot_open_the_console_and_another_operator_can()
    {
        await using var system = await ConsoleFixture.StartAsync();
        var bob = await AddAsync(system, "bob");
        var carol = await AddAsync(system, "carol");

        await using (var asBob = await ConsoleClient.ConnectAsync(bob, ConsoleFixture.Deadline))
        {
            Assert.Equal(ConsoleReply.Ok, (await asBob.RunAsync(["user", "list"])).Exit);
        }

        await using (var asCarol = await ConsoleClient.ConnectAsync(carol, ConsoleFixture.Deadline))
        {
            var revoke = await asCarol.RunAsync(["operator", "revoke", "bob"]);
            Assert.True(revoke.Exit == ConsoleReply.Ok, revoke.Error);
        }

        // Refused at the TLS handshake: not a single command is read.
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            await using var client = await ConsoleClient.ConnectAsync(bob, ConsoleFixture.Deadline);
            await client.RunAsync(["user", "list"]);
        });

        await using (var asCarol = await ConsoleClient.ConnectAsync(carol, ConsoleFixture.Deadline))
        {
            Assert.Equal(ConsoleReply.Ok, (await asCarol.RunAsync(["user", "list"])).Exit);
            var audit = (await asCarol.RunAsync(["audit", "tail"])).Output;
            // Every operator action names the operator who ran it.
            Assert.Contains("operator add user bob by operator", audit, StringComparison.Ordinal);
            Assert.Contains("operator revoke user bob by carol", audit, StringComparison.Ordinal);
        }

        var list = JsonDocument.Parse((await system.RunAsync("operator", "list", "--json")).Output).RootElement.EnumerateArray().ToList();
        Assert.NotNull(list.Single(e => e.GetProperty("name").GetString() == "bob").GetProperty("revokedAt").GetString());
        Assert.Equal(JsonValueKind.Null, list.Single(e => e.GetProperty("name").GetString() == "carol").GetProperty("revokedAt").ValueKind);
    }

    [Fact]
    public async Task Revoking_an_operator_never_added_is_refused()
    {
        await using var system = await ConsoleFixture.StartAsync();
        var reply = await system.RunAsync("operator", "revoke", "nobody");
        Assert.Equal(ConsoleReply.Failed, reply.Exit);
        Assert.Contains("no operator 'nobody'", reply.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_revocation_is_kept_across_a_restart_and_a_credential_issued_afterwards_works()
    {
        var directory = Directory.CreateTempSubdirectory("avpn-operators-");
        try
        {
            var authorityPath = Path.Combine(directory.FullName, ConsoleHost.AuthorityFile);
            var registryPath = Path.Combine(directory.FullName, OperatorRegistry.FileName);
            var now = DateTimeOffset.UtcNow;
            OperatorCredential old;
            using (var first = ConsoleAuthority.LoadOrCreate(authorityPath, now))
            {
                first.KeepOperatorsIn(registryPath);
                old = first.IssueOperator("dave", "127.0.0.1:1", now);
                first.Operators.Revoke("dave", now);
            }

            using var restarted = ConsoleAuthority.LoadOrCreate(authorityPath, now);
            restarted.KeepOperatorsIn(registryPath);
            using (var certificate = old.CertificateWithKey())
            {
                Assert.False(restarted.IsOperator(certificate, now));
            }

            var again = restarted.IssueOperator("dave", "127.0.0.1:1", now);
            using (var certificate = again.CertificateWithKey())
            {
                Assert.True(restarted.IsOperator(certificate, now));
            }

            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(registryPath));
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static async Task<OperatorCredential> AddAsync(ConsoleFixture system, string name)
    {
        var reply = await system.RunAsync("operator", "add", name);
        Assert.True(reply.Exit == ConsoleReply.Ok, reply.Error);
        return OperatorCredential.FromFileText(Assert.IsType<string>(reply.OperatorJson));
    }
}
