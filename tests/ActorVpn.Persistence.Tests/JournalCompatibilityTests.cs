using ActorVpn.AuthServers;
using ActorVpn.AuthServers.State;
using ActorVpn.Hosting;
using ActorVpn.Hosting.Audit;
using ActorVpn.Messaging;
using Akka.Actor;
using Akka.Persistence;
using Akka.Serialization;
using Xunit;

namespace ActorVpn.Persistence.Tests;

/// <summary>
/// Journals outlive builds. Every persisted type is stored under a short manifest from one table
/// (never its CLR name, so renaming or moving a type keeps old journals readable), and golden
/// stores written by earlier builds (Golden/, made with `ActorVpn.Persistence.Writer golden DIR`)
/// replay in this one: <c>clr-manifests</c> from before the table existed, <c>short-manifests</c> after.
/// </summary>
public sealed class JournalCompatibilityTests
{
    /// <summary>Released manifests: never change or reuse one; add new ones at the end.</summary>
    private static readonly IReadOnlyDictionary<string, Type> Released = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        ["as-authority-created"] = typeof(AuthorityCreated),
        ["as-user-registered"] = typeof(UserRegistered),
        ["as-user-revoked"] = typeof(UserRevoked),
        ["as-peer-credential-issued"] = typeof(PeerCredentialIssued),
        ["as-peer-credential-received"] = typeof(PeerCredentialReceived),
        ["as-proxy-enrolled"] = typeof(ProxyEnrolled),
        ["as-snapshot"] = typeof(AuthServerSnapshot),
        ["audit-record"] = typeof(AuditRecord),
        ["as-key-rotation-started"] = typeof(KeyRotationStarted),
        ["as-key-switched"] = typeof(SigningKeySwitched),
        ["as-key-rotation-finished"] = typeof(KeyRotationFinished),
        ["as-key-rotation-rolled-back"] = typeof(KeyRotationRolledBack),
        ["as-peer-next-key-dropped"] = typeof(PeerNextKeyDropped),
    };

    [Fact]
    public void Every_persisted_type_has_its_released_short_manifest_and_no_two_share_one()
    {
        var table = PersistedManifests.All();

        foreach (var (manifest, type) in Released)
        {
            Assert.True(table.TryGetValue(manifest, out var now), $"the released manifest '{manifest}' ({type.Name}) is gone");
            Assert.Equal(type, now);
        }

        // Every auth-server event is persisted: each needs a manifest, and a new one is added to Released.
        var events = typeof(IAuthServerEvent).Assembly.GetTypes().Where(t => typeof(IAuthServerEvent).IsAssignableFrom(t) && !t.IsAbstract);
        Assert.All(events, t => Assert.True(PersistedManifests.Of(t) is not null, $"{t.Name} is persisted but has no [PersistedAs] manifest"));
        Assert.Equal(table.Count, table.Values.Distinct().Count());
        Assert.Empty(table.Keys.Except(Released.Keys));
    }

    [Fact]
    public void The_serializer_writes_the_short_manifest_and_reads_both_it_and_the_clr_name()
    {
        using var system = ActorSystem.Create("manifests", HoconLayers.Load([HoconLayers.PersistenceInMemory], environment: _ => null));
        var revoked = new UserRevoked("alice", DateTimeOffset.UnixEpoch, "operator");
        var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerFor(revoked);

        var bytes = serializer.ToBinary(revoked);
        Assert.Equal("as-user-revoked", serializer.Manifest(revoked));
        Assert.Equal(revoked, serializer.FromBinary(bytes, "as-user-revoked"));
        Assert.Equal(revoked, serializer.FromBinary(bytes, "ActorVpn.AuthServers.State.UserRevoked, ActorVpn.AuthServers"));
    }

    [Theory]
    [InlineData("clr-manifests")]
    [InlineData("short-manifests")]
    [InlineData("key-rotation")]
    public async Task A_golden_store_of_an_earlier_build_replays(string golden)
    {
        var data = Path.Combine(Path.GetTempPath(), $"avpn-golden-{golden}-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(data);
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Golden", golden)))
        {
            File.Copy(file, Path.Combine(data, Path.GetFileName(file)));
        }

        await using var store = new TestStore("sqlite", data, null, () => Task.CompletedTask);

        // Every event ever written, from the first (no snapshot used) ...
        var all = await TestNode.ReadJournalAsync(store, AuthServerActor.PersistenceIdFor("as1"), fromSnapshot: false);
        Assert.Contains(all, e => e is AuthorityCreated);
        Assert.Contains(all, e => e is PeerCredentialReceived);
        Assert.Contains(await TestNode.ReadJournalAsync(store, AuthServerActor.PersistenceIdFor("as2"), fromSnapshot: false), e => e is PeerCredentialIssued);
        Assert.Contains(all, e => e is ProxyEnrolled);
        Assert.Contains(all, e => e is UserRegistered { User: "gold1" });
        Assert.Contains(all, e => e is UserRevoked { User: "gold2" });

        // ... the snapshot and what followed it ...
        var recovered = await TestNode.ReadJournalAsync(store, AuthServerActor.PersistenceIdFor("as1"));
        Assert.Contains(recovered, e => e is SnapshotOffer { Snapshot: AuthServerSnapshot });

        // ... and the auth server itself recovers its users from it.
        await using var node = await TestNode.StartAsync(store);
        Assert.NotNull(await node.Plane.FindUserAsync("gold1", "as1"));
        Assert.NotNull((await node.Plane.FindUserAsync("gold2", "as1"))?.RevokedAt);
        Assert.NotNull(await node.Plane.FindUserAsync("gold8", "as1"));
        if (golden == "key-rotation")
        {
            // Signing-key rotations: as1's finished (its first key retired), as4's rolled back, as2's recovered mid-way, still switched.
            var rotation = new KeyRotation(node.Plane);
            var as1 = await rotation.StatusAsync("as1");
            Assert.Equal((RotationPhase.Standby, 1), (as1.Phase, as1.RetiredAnchorsSha256.Count));
            Assert.Equal((RotationPhase.Standby, 1), ((await rotation.StatusAsync("as4")).Phase, (await rotation.StatusAsync("as4")).RetiredAnchorsSha256.Count));
            Assert.Equal(RotationPhase.Switched, (await rotation.StatusAsync("as2")).Phase);
            Assert.Contains(all, e => e is KeyRotationFinished);
            Assert.Contains(await TestNode.ReadJournalAsync(store, AuthServerActor.PersistenceIdFor("as4"), fromSnapshot: false), e => e is KeyRotationRolledBack);
            Assert.NotNull(await node.Plane.FindUserAsync("gold9", "as1"));
        }
    }
}
