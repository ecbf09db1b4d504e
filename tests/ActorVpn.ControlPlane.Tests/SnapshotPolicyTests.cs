using ActorVpn.AuthServers.Hosting;
using ActorVpn.AuthServers.State;
using ActorVpn.Hosting;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>
/// Scale: when an auth server snapshots its state. A snapshot is the whole state, so with many
/// users it is taken less often (a share of the users), never more often than <c>snapshot-every</c>.
/// </summary>
public sealed class SnapshotPolicyTests
{
    [Theory]
    [InlineData(0, 1000)]
    [InlineData(5_000, 1000)]        // small servers: every snapshot-every events, as before
    [InlineData(10_000, 1000)]
    [InlineData(100_000, 10_000)]    // 100,000 users (~78 MiB): not rewritten every 1,000 registrations
    [InlineData(100_001, 10_001)]
    public void Snapshots_come_after_snapshot_every_events_or_a_tenth_of_the_users_whichever_is_more(int users, long interval)
    {
        var policy = AuthServerSettings.FromConfig(HoconLayers.Load([HoconLayers.PersistenceInMemory], environment: _ => null)).Snapshots;

        Assert.Equal(interval, policy.Interval(users));
        Assert.False(policy.IsDue(interval - 1, users));
        Assert.True(policy.IsDue(interval, users));
    }

    [Fact]
    public void A_fraction_of_zero_snapshots_every_snapshot_every_events_whatever_the_users()
    {
        var policy = Settings("snapshot-every = 250, snapshot-every-user-fraction = 0").Snapshots;
        Assert.Equal(250, policy.Interval(1_000_000));
    }

    [Theory]
    [InlineData("snapshot-every = 0", "actorvpn.auth-server.snapshot-every")]
    [InlineData("snapshot-every-user-fraction = -0.5", "actorvpn.auth-server.snapshot-every-user-fraction")]
    [InlineData("snapshot-every-user-fraction = 11", "actorvpn.auth-server.snapshot-every-user-fraction")]
    public void A_bad_snapshot_setting_fails_fast_naming_the_key(string setting, string key)
    {
        var error = Assert.Throws<ConfigurationException>(() => Settings(setting));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private static AuthServerSettings Settings(string section) => AuthServerSettings.FromConfig(
        HoconLayers.Load([HoconLayers.PersistenceInMemory], overrides: ConfigurationFactory.ParseString($"actorvpn.auth-server {{ {section} }}"), environment: _ => null));
}
