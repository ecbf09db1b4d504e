using ActorVpn.AuthServers;
using ActorVpn.AuthServers.State;
using ActorVpn.Hosting;
using ActorVpn.Protocol;
using Xunit;

namespace ActorVpn.Persistence.Tests;

/// <summary>A signing-key rotation is durable: a restart in the middle of one resumes the phase it was in, with the same keys.</summary>
public sealed class KeyRotationPersistenceTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)] // recovered from a snapshot (one after every event)
    public async Task A_restart_in_the_middle_of_a_rotation_resumes_the_same_phase(bool snapshots)
    {
        await using var store = await SqliteKind.Instance.CreateAsync();
        var extra = snapshots ? "actorvpn.auth-server.snapshot-every = 1" : null;
        KeyRotationProtocol.KeyRotationStatus switched;
        UserEnrollment bob, dan;
        await using (var node = await TestNode.StartAsync(store, extra))
        {
            await node.Plane.EnrollStandInProxiesAsync();
            bob = await node.Plane.RegisterUserAsync("bob", "as1");         // a certificate of the old key
            var rotation = new KeyRotation(node.Plane);
            await rotation.StartAsync("as1", "carol");
            switched = await rotation.SwitchAsync("as1", "carol");
            dan = await node.Plane.RegisterUserAsync("dan", "as1");         // a certificate of the new key
        }

        await using (var node = await TestNode.StartAsync(store, extra))
        {
            var rotation = new KeyRotation(node.Plane);
            var resumed = await rotation.StatusAsync("as1");
            Assert.Equal(RotationPhase.Switched, resumed.Phase);
            Assert.Equal(switched.CurrentAnchorSha256, resumed.CurrentAnchorSha256);
            Assert.Equal(switched.NextAnchorSha256, resumed.NextAnchorSha256);
            Assert.Equal("carol", resumed.SwitchedBy);

            // Both keys verify, and as1 proves itself to as2 with the credential as2 issued for its new key.
            Assert.True((await RouteTracer.TraceAsync(node.Plane, node.System, "bob", "server", bob)).Ok);
            Assert.True((await RouteTracer.TraceAsync(node.Plane, node.System, "dan", "server", dan)).Ok);

            var finished = await rotation.FinishAsync("as1", "carol");
            Assert.Equal(switched.NextAnchorSha256, finished.CurrentAnchorSha256);
            Assert.True((await RouteTracer.TraceAsync(node.Plane, node.System, "dan", "server", dan)).Ok);
            var refused = await RouteTracer.TraceAsync(node.Plane, node.System, "bob", "server", bob);
            Assert.False(refused.Ok);
            Assert.Equal(ErrorCodes.CertificateRevoked, refused.Error!.Code);
        }

        await using (var node = await TestNode.StartAsync(store, extra))
        {
            Assert.Equal(RotationPhase.Standby, (await new KeyRotation(node.Plane).StatusAsync("as1")).Phase);
            Assert.True((await RouteTracer.TraceAsync(node.Plane, node.System, "dan", "server", dan)).Ok);
        }

        // The new key is journalled only encrypted with the key secret, as the first one.
        var events = await TestNode.ReadJournalAsync(store, AuthServerActor.PersistenceIdFor("as1"), fromSnapshot: false);
        Assert.True(Assert.Single(events.OfType<KeyRotationStarted>()).KeyIsProtected);
        Assert.Single(events.OfType<SigningKeySwitched>());
        Assert.Single(events.OfType<KeyRotationFinished>());
    }
}
