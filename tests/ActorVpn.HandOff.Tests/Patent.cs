using ActorVpn.AuthServers.HandOff.Core;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Protocol;
using ActorVpn.Topology;

namespace ActorVpn.HandOff.Tests;

/// <summary>
/// The patent's example system (hocon/topology.example.hocon): AS1 is alice's home server and relays through proxy1;
/// AS2 has no Fig. 2 entry and escalates to its upper server AS4; AS4 routes to AS3 but manages no relay proxy
/// (【0036】); AS3 is the end, relaying through proxy3. Certificates are real, issued by each server's own key.
/// </summary>
internal static class Patent
{
    public static readonly DateTimeOffset Now = new(2030, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public static readonly TimeSpan Hold = TimeSpan.FromSeconds(10);

    public static readonly TopologyModel Example = ExampleTopology.Load();

    public static RelayTables Tables(string server) => new(Example.AuthServer(server), Example);

    /// <summary>A system where <c>lonely</c> has no Fig. 2 entry for <c>server</c> and no upper server.</summary>
    public static RelayTables Lonely()
    {
        var lonely = new AuthServerSpec("lonely", null, new Dictionary<string, RouteTarget>(), new Dictionary<string, string>(), []);
        var topology = new TopologyModel("test", new Dictionary<string, HostPort> { ["server"] = new("127.0.0.1", 9000) }, [lonely], [], []);
        return new RelayTables(lonely, topology);
    }

    public static SigningAuthority Authority(string name) => SigningAuthority.Create(name, Now.AddDays(-30));

    public static byte[] UserCertificate(SigningAuthority home, string user, DateTimeOffset? notAfter = null)
    {
        using var key = LeafKey.Create();
        using var certificate = home.Issue(CertificateKind.User, user, key.SubjectPublicKeyInfo, Now.AddHours(-1), notAfter ?? Now.AddDays(30));
        return certificate.RawData;
    }

    public static AuthServerState Registered(string server, params (string User, byte[] CertificateDer)[] users) =>
        users.Aggregate(AuthServerState.Empty(server), (state, u) => state.Apply(new UserRegistered(u.User, u.CertificateDer, Now.AddDays(-1), "test")));

    public static RouteEntry Entry(string proxy, string server) => new(proxy, server, $"10.0.0.1:{proxy.Length}", $"pin-{proxy}");

    public static HeldCertificate Held(string handOffId, byte[] certificateDer, string relayProxy = "proxy2", IReadOnlyList<RouteEntry>? route = null,
        DateTimeOffset? expiresAt = null) =>
        new(handOffId, certificateDer, "alice", "server", relayProxy, route ?? [Entry("proxy2", "as2"), Entry("proxy3", "as3")],
            ["as1", "as2", "as4", "as3"], ["as2", "as3"], Now, expiresAt ?? Now + Hold);
}
