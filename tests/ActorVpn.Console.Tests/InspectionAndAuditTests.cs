using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ActorVpn.Hosting.Audit;
using ActorVpn.OperatorConsole.Client;
using ActorVpn.Testing;
using ActorVpn.Topology;
using ActorVpn.Wire;
using Akka.Actor;
using Xunit;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.OperatorConsole.Tests;

/// <summary>
/// What an operator's inspection may change (nothing), and what the audit trail says about whom: a record is a user's only
/// when that user's home server verified the certificate; everyone else's failures are unauthenticated, aggregated, and
/// printed so that their text cannot drive the operator's terminal.
/// </summary>
public sealed class InspectionAndAuditTests
{
    private static readonly TimeSpan Deadline = ConsoleFixture.Deadline;

    [Fact]
    public async Task Route_trace_on_a_live_system_changes_nothing_the_same_profile_still_connects_and_the_trace_is_audited()
    {
        await using var system = await ConsoleFixture.StartAsync();
        using (var first = await system.OpenLocalAsync(system.Alice))
        {
            await Traffic.EchoAsync(first);
        }

        var before = await system.Node.Control.FindUserAsync("alice", "as1");

        var trace = JsonDocument.Parse((await system.RunAsync("route", "trace", "alice", "server", "--json")).Output).RootElement;
        Assert.True(trace.GetProperty("ok").GetBoolean(), trace.ToString());
        Assert.Equal(["proxy1", "proxy2", "proxy3"], trace.GetProperty("route").EnumerateArray().Select(e => e.GetString()));

        Assert.Equal(before, await system.Node.Control.FindUserAsync("alice", "as1")); // same registration, same active certificates
        using (var second = await system.OpenLocalAsync(system.Alice))
        {
            await Traffic.EchoAsync(second); // the profile issued before the trace still connects
        }

        var audited = (await RecentAsync(system)).Where(r => r is { Kind: AuditRecord.Admin, Action: "route trace" }).ToList();
        Assert.Equal([AuditRecord.Started, AuditRecord.Ok], audited.Select(r => r.Outcome));
        Assert.All(audited, r => Assert.Equal(("alice", "server"), (r.User, r.Destination)));
    }

    [Fact]
    public async Task A_refused_client_sees_the_refusal_named_once()
    {
        await using var system = await ConsoleFixture.StartAsync();
        Assert.Equal(ConsoleReply.Ok, (await system.RunAsync("user", "revoke", "alice")).Exit);

        using var refused = await LocalConnections.OpenRefusedAsync(() => system.OpenLocalAsync(system.Alice));
        await Traffic.AssertClosedByPeerAsync(refused);
        var failure = await EventuallyAsync(() => system.Scenario.ClosedSessions.Select(s => s.Failure).FirstOrDefault(f => f is not null));

        Assert.StartsWith("certificate-revoked at as1 (Fig. 7, step 702): ", failure, StringComparison.Ordinal);
        Assert.Equal(2, failure.Split("certificate-revoked at").Length); // the prefix once, not repeated
    }

    [Fact]
    public async Task A_hand_off_id_in_the_first_request_is_refused_by_the_home_server_and_recorded_as_the_users()
    {
        await using var system = await ConsoleFixture.StartAsync();
        using var alice = system.Alice.CertificateWithKey();

        var answer = await AuthenticateRawAsync(system.Alice.Entries["server"].Address, alice, new AuthRequest("server", "made-up-hand-off"));

        var refused = Assert.IsType<Refused>(answer); // no session without its connect and end records
        Assert.Equal(("no-route", "as1"), (refused.Code, refused.At));
        var record = await EventuallyAsync(async () => (await RecentAsync(system)).FirstOrDefault(r => r.Kind == AuditRecord.Session));
        Assert.Equal(("alice", AuditRecord.Error, "no-route"), (record.User, record.Outcome, record.ErrorCode));
    }

    [Fact]
    public async Task Every_established_session_has_exactly_one_connect_and_one_end_record()
    {
        await using var system = await ConsoleFixture.StartAsync();
        for (var k = 0; k < 3; k++)
        {
            using var socket = await system.OpenLocalAsync(system.Alice);
            await Traffic.EchoAsync(socket, 1024);
        }

        var sessions = await EventuallyAsync(async () =>
        {
            var records = (await RecentAsync(system)).Where(r => r.Kind == AuditRecord.Session).ToList();
            return records.Count(r => r.End is not null) == 3 ? records : null;
        });

        Assert.All(sessions, r => Assert.Equal(("alice", AuditRecord.Ok), (r.User, r.Outcome)));
        Assert.All(sessions.GroupBy(r => r.Id), session =>
        {
            Assert.Single(session, r => r.End is null);
            Assert.Single(session, r => r.End is not null);
        });
        Assert.Equal(3, sessions.Select(r => r.Id).Distinct().Count());
    }

    [Fact]
    public async Task A_certificate_that_only_claims_a_users_name_writes_no_record_of_that_user_only_aggregated_unauthenticated_ones()
    {
        var window = TimeSpan.FromSeconds(2);
        await using var system = await ConsoleFixture.StartAsync($"actorvpn.audit.unauthenticated.window = {window.TotalMilliseconds}ms");
        // A name with a newline and ANSI escapes: what `audit` and `log peek` print must show them, not obey them.
        const string claimed = "alice\n2026-01-01T00:00:00.000Z session ok connect user alice\u001b[2J";
        using var forged = SelfSigned(claimed);
        var entry = system.Alice.Entries["server"].Address;
        var exit = (await system.Node.System.ActorSelection("/user/proxies/proxy3").Ask<ProxyStatus>(GetProxyStatus.Instance, Deadline)).Address;

        var flood = System.Diagnostics.Stopwatch.StartNew();
        foreach (var (proxy, handOffId) in new[] { (entry, (string?)null), (exit, null) })
        {
            for (var k = 0; k < 20; k++)
            {
                Assert.IsType<Refused>(await AuthenticateRawAsync(proxy, forged, new AuthRequest("server", handOffId)));
            }
        }

        var windows = (int)Math.Ceiling(flood.Elapsed / window) + 1;
        var unauthenticated = await EventuallyAsync(async () =>
        {
            var found = (await RecentAsync(system)).Where(r => r.Kind == AuditRecord.Unauthenticated).ToList();
            return found.Sum(r => r.Count) == 40 ? found : null;
        });

        Assert.DoesNotContain(await RecentAsync(system), r => r.User.StartsWith("alice", StringComparison.Ordinal));
        // One record per proxy, peer and certificate in each window (2 s here): a flood does not add a record per attempt.
        Assert.InRange(unauthenticated.Count, 2, 2 * windows);
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData(forged.RawData));
        Assert.All(unauthenticated, r => Assert.Equal((AuditRecord.NoUser, "127.0.0.1", fingerprint), (r.User, r.Peer, r.Fingerprint)));
        Assert.Equal([("proxy1", 20L), ("proxy3", 20L)], unauthenticated.GroupBy(r => r.Route[0]).Select(g => (g.Key, g.Sum(r => r.Count))).Order());

        foreach (var command in new[] { new[] { "audit", "tail" }, ["log", "peek", "--lines", "500"] })
        {
            var output = (await system.RunAsync(command)).Output;
            Assert.DoesNotContain('\u001b', output);
            Assert.DoesNotContain("\n2026-01-01T00:00:00.000Z", output, StringComparison.Ordinal);
        }

        Assert.Contains("\\x1b[2J", (await system.RunAsync("audit", "tail")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_proxy_is_asked_for_the_one_constant_server_name_so_the_route_is_not_in_clear_text()
    {
        await using var system = await ConsoleFixture.StartAsync();
        using var socket = await system.OpenLocalAsync(system.Alice);
        await Traffic.EchoAsync(socket);

        foreach (var proxy in new[] { "proxy1", "proxy2", "proxy3" })
        {
            var status = await system.Node.System.ActorSelection($"/user/proxies/{proxy}").Ask<ProxyStatus>(GetProxyStatus.Instance, Deadline);
            Assert.Equal(TlsHop.ServerName, Assert.Single(status.Sessions).ServerName);
        }
    }

    private static async Task<IReadOnlyList<AuditRecord>> RecentAsync(ConsoleFixture system) =>
        (await system.Node.System.ActorSelection($"/user/{AuditLog.Name}").Ask<AuditPosition>(GetAuditPosition.Instance, Deadline)).Recent;

    /// <summary>A client that speaks the proxy protocol itself: TLS with <paramref name="certificate"/>, one request, one answer.</summary>
    private static async Task<ControlMessage> AuthenticateRawAsync(string address, X509Certificate2 certificate, AuthRequest request)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        var endpoint = HostPort.Parse(address);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint.Host, endpoint.Port, deadline.Token);
        await using var transport = new NetworkStream(socket, ownsSocket: false);
        await using var tls = await TlsHop.ConnectAsync(transport, TlsHop.ServerName, certificate, _ => true, deadline.Token);
        await FrameCodec.WriteAsync(tls, request, deadline.Token);
        return await FrameCodec.ReadAsync(tls, deadline.Token);
    }

    private static X509Certificate2 SelfSigned(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName(commonName);
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    private static Task<T> EventuallyAsync<T>(Func<T?> probe)
        where T : class => EventuallyAsync(() => Task.FromResult(probe()));

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe)
        where T : class
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (true)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            await Task.Delay(50, deadline.Token);
        }
    }
}
