using System.Diagnostics;
using ActorVpn.AuthServers;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Hosting;
using ActorVpn.Protocol;
using Akka.Persistence;
using Xunit;
using Xunit.Abstractions;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Persistence.Tests;

/// <summary>
/// The same persistence suite on every store (<see cref="SqlitePersistenceTests"/>,
/// <see cref="PostgresPersistenceTests"/>). Each test gets an empty store, stops its actor system
/// and starts a new one on the same store, and checks what came back.
/// </summary>
public abstract class PersistenceSuite(StoreKind kind, ITestOutputHelper output)
{
    private static readonly string[] Servers = ["as1", "as2", "as3", "as4"];

    [SkippableFact]
    public async Task Keys_users_credentials_and_proxy_identities_survive_a_restart()
    {
        await using var store = await kind.CreateAsync();
        var before = new Dictionary<string, string>(StringComparer.Ordinal);
        UserEnrollment bob;
        await using (var node = await TestNode.StartAsync(store))
        {
            await node.Plane.EnrollStandInProxiesAsync(); // every proxy enrolled, as on its start: an auth server vouches only for those (Fig. 9, step 910)
            bob = await node.Plane.RegisterUserAsync("bob", "as1");
            Assert.True((await RouteTracer.TraceAsync(node.Plane, node.System, "bob", "server", bob)).Ok);
            foreach (var server in Servers)
            {
                before[server] = await node.DurableViewAsync(server);
            }
        }

        await using (var node = await TestNode.StartAsync(store))
        {
            foreach (var server in Servers)
            {
                // same signing key, same credentials (not re-issued), same proxy pin, same users
                Assert.Equal(before[server], await node.DurableViewAsync(server));
            }

            // the profile issued before the restart still authenticates, through the whole hand-off (Fig. 8/9)
            var trace = await RouteTracer.TraceAsync(node.Plane, node.System, "bob", "server", bob);
            Assert.True(trace.Ok, trace.Error?.ToString());
            Assert.Equal(["proxy1", "proxy2", "proxy3"], trace.Route);
            Assert.Equal(["as1", "as2", "as4", "as3"], trace.HandOff);
        }
    }

    [SkippableFact]
    public async Task A_revoked_user_stays_revoked_after_a_restart()
    {
        await using var store = await kind.CreateAsync();
        UserEnrollment carol;
        await using (var node = await TestNode.StartAsync(store))
        {
            carol = await node.Plane.RegisterUserAsync("carol", "as1");
            await node.Plane.RevokeUserAsync("carol", "as1", by: "test-operator");
        }

        await using (var node = await TestNode.StartAsync(store))
        {
            var view = await node.Plane.FindUserAsync("carol", "as1");
            Assert.NotNull(view);
            Assert.NotNull(view.RevokedAt);
            Assert.Equal(0, view.ActiveCertificates);
            var trace = await RouteTracer.TraceAsync(node.Plane, node.System, "carol", "server", carol);
            Assert.False(trace.Ok);
            Assert.Equal(ErrorCodes.CertificateRevoked, trace.Error!.Code);
        }
    }

    [SkippableFact]
    public async Task The_signing_key_is_journalled_only_encrypted()
    {
        await using var store = await kind.CreateAsync();
        await using (var node = await TestNode.StartAsync(store))
        {
            await node.IdentityAsync("as1");
        }

        var created = Assert.Single((await TestNode.ReadJournalAsync(store, AuthServerActor.PersistenceIdFor("as1"))).OfType<AuthorityCreated>());
        Assert.True(created.KeyIsProtected);
        Assert.ThrowsAny<Exception>(() => SigningAuthority.Import("as1", created.PrivateKey, created.CertificateDer));
        Assert.Throws<CredentialException>(() => SigningAuthority.ImportEncrypted("as1", "wrong secret", created.PrivateKey, created.CertificateDer));
        var secret = File.ReadAllText(Path.Combine(store.DataDirectory, DurableStore.KeySecretFile)).Trim();
        using var authority = SigningAuthority.ImportEncrypted("as1", secret, created.PrivateKey, created.CertificateDer);
        Assert.Equal(created.CertificateDer, authority.Certificate.RawData);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(store.DataDirectory, DurableStore.KeySecretFile)));
        }
    }

    /// <summary>Many users recover from a snapshot plus the events after it (the timing is a benchmark, not asserted).</summary>
    [SkippableFact]
    public async Task Many_users_recover_from_a_snapshot_and_the_events_after_it()
    {
        const int Users = 1000;
        await using var store = await kind.CreateAsync();
        const string Every = "actorvpn.auth-server.snapshot-every = 250";
        await using (var node = await TestNode.StartAsync(store, Every))
        {
            using var key = LeafKey.Create();
            var spki = key.SubjectPublicKeyInfo;
            foreach (var batch in Enumerable.Range(0, Users).Chunk(100))
            {
                var answers = await Task.WhenAll(batch.Select(i => node.Plane.AskAsync<object>("as1", new RegisterUser($"u{i}", spki, "bulk"))));
                Assert.All(answers, a => Assert.IsType<UserCertificateIssued>(a));
            }

            await node.Plane.RevokeUserAsync("u7", "as1");
        }

        var journal = await TestNode.ReadJournalAsync(store, AuthServerActor.PersistenceIdFor("as1"));
        var offer = Assert.IsType<SnapshotOffer>(journal[0]);
        // the snapshot of the last full 250 may still have been in flight when the system stopped: then the one before it
        Assert.True(offer.Metadata.SequenceNr >= Users - 500, $"latest snapshot at #{offer.Metadata.SequenceNr}");
        Assert.True(journal.Count - 1 < 500, $"{journal.Count - 1} events replayed after the snapshot");

        var watch = Stopwatch.StartNew();
        await using (var node = await TestNode.StartAsync(store, Every))
        {
            var status = await node.StatusAsync("as1");
            output.WriteLine($"{kind.Name}: {Users} users recovered, node up in {watch.ElapsedMilliseconds} ms (not asserted)");
            Assert.Equal(Users, status.Users.Count);
            Assert.Equal(Enumerable.Range(0, Users).Select(i => $"u{i}").Order(StringComparer.Ordinal), status.Users.Select(u => u.Name).Order(StringComparer.Ordinal));
            Assert.Single(status.Users, u => u.RevokedAt is not null);
            Assert.NotNull((await node.Plane.FindUserAsync("u7", "as1"))!.RevokedAt);
        }
    }

    /// <summary>A child process adds and revokes users, each one event, and is killed (SIGKILL) mid-stream.</summary>
    [SkippableFact]
    public async Task Kill_9_during_user_add_and_revoke_leaves_the_old_or_the_new_state()
    {
        await using var store = await kind.CreateAsync();
        var acknowledged = new List<string>();
        using (var child = WriterProcess.Start(store))
        {
            await child.ReadUntilAsync(line =>
            {
                acknowledged.Add(line);
                return line == "added w12";
            });
            child.Kill(); // SIGKILL: no shutdown, whatever write is in flight is cut off
        }

        await using var node = await TestNode.StartAsync(store);
        var added = acknowledged.Where(l => l.StartsWith("added ", StringComparison.Ordinal)).Select(l => l[6..]).ToList();
        var revoked = acknowledged.Where(l => l.StartsWith("revoked ", StringComparison.Ordinal)).Select(l => l[8..]).ToList();
        Assert.Equal(13, added.Count);
        foreach (var user in added)
        {
            Assert.NotNull(await node.Plane.FindUserAsync(user, "as1"));
        }

        // a confirmed revocation is never lost: no revoked user works again
        foreach (var user in revoked)
        {
            Assert.NotNull((await node.Plane.FindUserAsync(user, "as1"))!.RevokedAt);
        }

        // whatever was in flight is all there or not there: a user is absent, active with one certificate, or revoked
        var status = await node.StatusAsync("as1");
        Assert.All(status.Users, u => Assert.True(u.RevokedAt is null ? u.ActiveCertificates == 1 : u.ActiveCertificates == 0, u.ToString()));
        Assert.All(status.Users, u => Assert.Matches("^w[0-9]+$", u.Name));
        output.WriteLine($"{kind.Name}: killed after {acknowledged.Count} confirmed writes; {status.Users.Count} users recovered");
    }

    /// <summary>Retries an assertion until it holds (at most a minute): waits on the system, not on a clock.</summary>
    /// <summary>
    /// Fail closed: with the store gone, a write is not confirmed, the auth server stops and callers
    /// get <c>unreachable</c> at once (the request whose write failed gets <c>store-unavailable</c>
    /// at once too, not at its ask timeout); when the store is back it recovers by itself (back-off
    /// restarts). SQLite: the database file is replaced; PostgreSQL: the server is stopped.
    /// </summary>
    [SkippableFact]
    public async Task A_store_outage_fails_closed_and_the_system_recovers_by_itself()
    {
        await using var outage = await kind.CreateOutageAsync();
        await using var node = await TestNode.StartAsync(outage.Store);
        await node.Plane.EnrollStandInProxiesAsync();
        var dave = await node.Plane.RegisterUserAsync("dave", "as1");

        await outage.BreakAsync();
        using var key = LeafKey.Create();
        var unconfirmed = node.Plane.AskAsync<object>("as1", new RegisterUser("erin", key.SubjectPublicKeyInfo, "test"));

        // the write is not confirmed: the caller is told so (an ask timeout would throw AskTimeoutException here)
        var answer = Assert.IsType<AdminRefused>(await unconfirmed);
        Assert.StartsWith(StoreFailure.Code, answer.Reason, StringComparison.Ordinal);

        // as1 stops; until it has recovered it is not reachable (AuthServerRegistry)
        await Eventually(() =>
        {
            Assert.Null(AuthServerRegistry.For(node.System).Find("as1"));
            return Task.FromResult(true);
        });

        // meanwhile every request fails at once with `unreachable` instead of being authorised on unconfirmed state
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => node.Plane.FindUserAsync("dave", "as1"));
        Assert.StartsWith("unreachable", refused.Message, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(async () => Assert.True((await RouteTracer.TraceAsync(node.Plane, node.System, "dave", "server", dave)).Ok));

        await outage.RestoreAsync();
        var trace = await Eventually(async () =>
        {
            var t = await RouteTracer.TraceAsync(node.Plane, node.System, "dave", "server", dave);
            Assert.True(t.Ok, t.Error?.ToString());
            return t;
        });
        Assert.Equal(["proxy1", "proxy2", "proxy3"], trace.Route);
        Assert.NotNull(await node.Plane.FindUserAsync("dave", "as1"));
    }

    protected static async Task<T> Eventually<T>(Func<Task<T>> attempt)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                return await attempt();
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}

public sealed class SqlitePersistenceTests(ITestOutputHelper output) : PersistenceSuite(SqliteKind.Instance, output);

public sealed class PostgresPersistenceTests(ITestOutputHelper output) : PersistenceSuite(PostgresKind.Instance, output);
