using ActorVpn.Client;
using ActorVpn.Credentials;
using ActorVpn.OperatorConsole;
using Xunit;

namespace ActorVpn.Persistence.Tests;

/// <summary>
/// Secrets on disk (profiles, admin.avpn, the key secret, the store) are readable by their owner
/// only from the first byte, and a link planted where one is written never receives it.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SecretFilesTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerOnly | UnixFileMode.UserExecute;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "avpn-secrets-" + Guid.NewGuid().ToString("N")[..12]);

    public SecretFilesTests() => Directory.CreateDirectory(_root);

    [Fact]
    public async Task A_new_data_directory_is_0700_and_its_store_and_key_secret_are_0600()
    {
        var data = Path.Combine(_root, "data");
        await using (var node = await TestNode.StartAsync(new TestStore("sqlite", data, null, () => Task.CompletedTask)))
        {
            await node.Plane.RegisterUserAsync("alice", "as1");
        }

        Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(data));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(Path.Combine(data, "actorvpn.db")));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(Path.Combine(data, "key-secret")));
        Assert.All(Directory.GetFiles(data, "actorvpn.db*"), f => Assert.Equal(OwnerOnly, File.GetUnixFileMode(f)));
    }

    [Fact]
    public void A_profile_is_never_written_through_a_symbolic_link_at_out()
    {
        var victim = Path.Combine(_root, "victim.txt");
        File.WriteAllText(victim, "untouched");
        var @out = Path.Combine(_root, "alice.avpn");
        File.CreateSymbolicLink(@out, victim);

        var refused = Assert.Throws<CredentialException>(() => Profile().Save(@out));

        Assert.Contains("symbolic link", refused.Message, StringComparison.Ordinal);
        Assert.Equal("untouched", File.ReadAllText(victim));
    }

    [Fact]
    public void Replacing_a_profile_leaves_other_names_of_the_old_file_without_the_new_key_and_the_new_file_0600()
    {
        var @out = Path.Combine(_root, "alice.avpn");
        File.WriteAllText(@out, "old");
        File.SetUnixFileMode(@out, OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var other = Path.Combine(_root, "hard-link");
        using (var ln = System.Diagnostics.Process.Start("ln", [@out, other]))
        {
            ln.WaitForExit();
            Assert.Equal(0, ln.ExitCode);
        }

        Profile().Save(@out);

        Assert.Equal("old", File.ReadAllText(other)); // the key went to a new file, never into the world-readable one
        Assert.Contains("PRIVATE KEY", File.ReadAllText(@out), StringComparison.Ordinal);
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(@out));
    }

    [Fact]
    public void An_operator_credential_refuses_a_symbolic_link_and_is_0600()
    {
        var victim = Path.Combine(_root, "victim.txt");
        File.WriteAllText(victim, "untouched");
        var linked = Path.Combine(_root, "admin.avpn");
        File.CreateSymbolicLink(linked, victim);
        var credential = new OperatorCredential("127.0.0.1:1", "anchor", "pin", "cert", "-----BEGIN PRIVATE KEY-----");

        Assert.Throws<CredentialException>(() => credential.Save(linked));
        Assert.Equal("untouched", File.ReadAllText(victim));

        var plain = Path.Combine(_root, "fresh", "admin.avpn");
        credential.Save(plain);
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(plain));
        Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(Path.GetDirectoryName(plain)!));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static ClientProfile Profile() =>
        new("alice", "as1", "-----BEGIN CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----", new Dictionary<string, EntryProxy>());
}
