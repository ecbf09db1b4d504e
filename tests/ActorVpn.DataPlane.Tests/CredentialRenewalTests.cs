using ActorVpn.AuthServers.Hosting;
using ActorVpn.Hosting;
using ActorVpn.Testing;
using Akka.Configuration;
using Xunit;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.DataPlane.Tests;

/// <summary>Proxy identities and inter-server credentials are renewed before they expire, so a system keeps routing past their lifetime.</summary>
public sealed class CredentialRenewalTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_system_keeps_routing_after_the_first_proxy_identities_and_inter_server_credentials_expired()
    {
        // Seconds-long lifetimes, renewed 4 s before they expire: everything first issued is expired within ~8 s.
        await using var scenario = await VpnScenario.StartExampleAsync(new ScenarioOptions
        {
            Config = """
                actorvpn.auth-server.peer-credential-lifetime = 6s
                actorvpn.auth-server.credential-renew-before = 4s
                """,
        });
        var kit = new Akka.TestKit.Xunit2.TestKit(scenario.Node.System);
        var renewals = kit.CreateTestProbe();
        scenario.Node.System.EventStream.Subscribe(renewals.Ref, typeof(ProxyIdentityRenewed));
        scenario.Node.System.EventStream.Subscribe(renewals.Ref, typeof(CredentialRenewal.CredentialsRenewed));
        await scenario.EnrollAsync("alice");
        await using var before = await scenario.ConnectAsync("alice");
        Assert.True(await before.RoundTripAsync(16 * 1024), "no session before any renewal");

        // The entry proxy's first identity, renewed for the same key; the inter-server credentials were issued earlier still.
        var entry = (ProxyIdentityRenewed)await renewals.FishForMessageAsync(m => m is ProxyIdentityRenewed { Proxy: "proxy1" }, Deadline);
        Assert.True(entry.NotAfter > entry.PreviousNotAfter);
        await renewals.FishForMessageAsync(m => m is CredentialRenewal.CredentialsRenewed, Deadline);
        await kit.AwaitConditionAsync(() => Task.FromResult(DateTimeOffset.UtcNow > entry.PreviousNotAfter.AddMilliseconds(500)), Deadline, TimeSpan.FromMilliseconds(100));

        // A new hand-off across as1 -> as2 -> as4 -> as3 and new TLS hops to every proxy, all past the first credentials' expiry.
        await using var after = await scenario.ConnectAsync("alice");
        Assert.True(await after.RoundTripAsync(16 * 1024), "no new session once the first credentials expired");
        Assert.True(await before.RoundTripAsync(16 * 1024), "the session opened before the renewal was cut");
    }

    [Fact]
    public void A_renewal_margin_not_shorter_than_the_lifetime_fails_at_start_up_naming_the_key()
    {
        var config = ConfigurationFactory.ParseString("""
            actorvpn.auth-server.peer-credential-lifetime = 1d
            actorvpn.auth-server.credential-renew-before = 2d
            """);
        var e = Assert.Throws<ConfigurationException>(() => AuthServerSettings.FromConfig(config));
        Assert.Contains("credential-renew-before", e.Message, StringComparison.Ordinal);
    }
}
