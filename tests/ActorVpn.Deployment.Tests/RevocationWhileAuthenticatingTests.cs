using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ActorVpn.Client;
using ActorVpn.Credentials;
using ActorVpn.Hosting.Audit;
using ActorVpn.OperatorConsole;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Protocol;
using ActorVpn.Testing;
using ActorVpn.Topology;
using ActorVpn.Wire;
using Xunit;
using Xunit.Abstractions;

namespace ActorVpn.Deployment.Tests;

/// <summary>
/// A revocation that reaches a session still authenticating hop by hop (Fig. 5: the route came back to the client at the
/// entry proxy, the later proxies have not yet authenticated it, and their auth servers hold certificate 1 for it). The
/// client here is driven by hand, one control frame at a time, so the test knows it stands exactly between hop 1 and
/// hop 2 when the operator revokes, with no waiting on timing. Built <c>avpn node</c> processes on PostgreSQL, placed as
/// in <see cref="DeploymentTests"/>: the console is on node1, which runs no proxy.
/// </summary>
public sealed class RevocationWhileAuthenticatingTests(ITestOutputHelper output)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [SkippableFact]
    public async Task Revoking_a_user_between_hops_closes_the_entry_hop_and_the_later_proxies_refuse_it_as_revoked()
    {
        string[] both = ["as1", "as4"];
        await using var cluster = await DeployedCluster.StartAsync(
            [new("node1", both, []), new("node2", both, ["proxy1"]), new("node3", both, ["proxy2", "proxy3"])]);
        try
        {
            var alice = await cluster.TopologyProfileAsync("node1", "alice");
            await Eventually.TrueAsync(() => cluster.NewSessionWorksAsync(alice, TimeSpan.FromSeconds(10)), DeployedCluster.Generous, "alice never connected");

            // Hop 1 (Fig. 5, steps 501-503): TLS and the authentication request at proxy1. The hand-off as1 -> as2 -> as4 -> as3
            // has run; as2 and as3 hold certificate 1 until alice authenticates at proxy2 and proxy3.
            await using var entry = await ManualHop.OpenAsync(alice.Entries["server"].Address, alice);
            var accepted = Assert.IsType<AuthAccepted>(await entry.AskAsync(new AuthRequest("server", null)));
            Assert.Equal(["proxy2", "proxy3"], accepted.Route.Select(r => r.Proxy));

            // The operator sees it across nodes on node1's console: authenticated at proxy1 only, so far.
            await using var console = await cluster.ConsoleOfAsync("node1");
            var listed = await console.RunAsync(["session", "list", "--json"]);
            Assert.True(listed.Exit == ConsoleReply.Ok, listed.Error);
            var session = JsonDocument.Parse(listed.Output).RootElement.EnumerateArray().Single(s => s.GetProperty("id").GetString() == accepted.HandOffId);
            Assert.Equal(["proxy1"], session.GetProperty("route").EnumerateArray().Select(p => p.GetString()!).ToArray());

            var clock = Stopwatch.StartNew();
            var revoked = await console.RunAsync(["user", "revoke", "alice"]);
            Assert.True(revoked.Exit == ConsoleReply.Ok, revoked.Error);
            var acknowledged = clock.Elapsed;

            // (a) proxy1 ends the half-built session: it refuses the client with the reason, or just closes.
            var answer = await entry.TryReadAsync(DeployedCluster.Generous);
            var closed = clock.Elapsed;
            if (answer is not null)
            {
                var refusal = Assert.IsType<Refused>(answer);
                Assert.Equal((ErrorCodes.CertificateRevoked, "as1"), (refusal.Code, refusal.At));
            }

            await DeployedCluster.AwaitClosedAsync(entry.Socket, DeployedCluster.Generous);
            output.WriteLine($"revocation of a session still authenticating (console on a node without proxies): acknowledged after {acknowledged.TotalMilliseconds:0} ms, "
                + $"proxy1 closed it {(closed - acknowledged).TotalMilliseconds:0} ms later ({closed.TotalMilliseconds:0} ms after the command was sent)");

            // (b) the certificates held for it along the chain were released: going on to hop 2 (and hop 3) with the route just
            // issued is refused, and refused as revoked, not as a hand-off nothing is held for.
            foreach (var hop in accepted.Route)
            {
                await using var next = await ManualHop.OpenAsync(hop.Address, alice, presented => Pins.Matches(presented, hop.Pin));
                var refused = Assert.IsType<Refused>(await next.AskAsync(new AuthRequest("server", accepted.HandOffId)));
                Assert.Equal(ErrorCodes.CertificateRevoked, refused.Code);
                await DeployedCluster.AwaitClosedAsync(next.Socket, DeployedCluster.Generous);
            }

            // A new session is refused at the home server (Fig. 7, step 702).
            await using (var again = await ManualHop.OpenAsync(alice.Entries["server"].Address, alice))
            {
                var refused = Assert.IsType<Refused>(await again.AskAsync(new AuthRequest("server", null)));
                Assert.Equal((ErrorCodes.CertificateRevoked, "as1"), (refused.Code, refused.At));
            }

            // (c) audited: the session's record ends with certificate-revoked, next to the operator's revocation.
            await Eventually.TrueAsync(async () =>
            {
                var records = await AuditOfAsync(console, "alice");
                return records.Any(r => r.Kind == AuditRecord.Session && r.Id == accepted.HandOffId && r.Outcome == AuditRecord.Error
                        && r.ErrorCode == ErrorCodes.CertificateRevoked && r.End is not null)
                    && records.Any(r => r.Kind == AuditRecord.Admin && r.Action == "user revoke" && r.Outcome == AuditRecord.Ok);
            }, DeployedCluster.Generous, "the audit trail has no certificate-revoked end for the session, or no revocation");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\n{cluster.Diagnostics()}", e);
        }
    }

    private static async Task<IReadOnlyList<AuditRecord>> AuditOfAsync(ConsoleClient console, string user)
    {
        var reply = await console.RunAsync(["audit", "query", "--user", user, "--since", "1h", "--json"]);
        Assert.True(reply.Exit == ConsoleReply.Ok, reply.Error);
        using var document = JsonDocument.Parse(reply.Output);
        return document.RootElement.GetProperty("records").Deserialize<List<AuditRecord>>(Json)!;
    }
}
