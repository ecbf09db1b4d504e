using ActorVpn.AuthServers;
using ActorVpn.AuthServers.State;
using Akka.Actor;
using static ActorVpn.AuthServers.KeyRotationProtocol;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Hosting;

/// <summary>
/// Runs the phases of an auth server's signing-key rotation across the servers it deals with, in the manner of
/// Teleport's phased CA rotation. The server moves from phase to phase itself (one persisted event each); what
/// this adds is the 【0023】 credentials around it, so that no hand-off breaks on the way:
/// <list type="bullet">
/// <item>start: every server that trusts it issues a credential for its new key too, accepted alongside the current one;</item>
/// <item>switch: it issues its own callers their credentials again, now signed by the new key;</item>
/// <item>finish: first its callers get their credentials of the new key again, and the servers that trust it issue one for its
/// new key as the one key and drop the alongside one; then the old key is dropped;</item>
/// <item>rollback: they issue one for the old key again and drop the alongside one; after a switch, its callers get credentials
/// of the old key again.</item>
/// </list>
/// Works over any <see cref="ControlPlane"/>: one process, or a cluster node reaching the groups where they run.
/// </summary>
public sealed class KeyRotation(ControlPlane plane)
{
    public Task<KeyRotationStatus> StatusAsync(string server) => plane.AskAsync<KeyRotationStatus>(server, GetKeyRotation.Instance);

    public async Task<KeyRotationStatus> StartAsync(string server, string by)
    {
        Expect(await plane.AskAsync<object>(server, new StartKeyRotation(by)));
        await AfterwardsAsync("started", server, "not every server that trusts it has a credential for its new key yet",
            $"`auth rotate {server} switch` asks them again", () => IssueForNextKeyAsync(server));
        return await StatusAsync(server);
    }

    public async Task<KeyRotationStatus> SwitchAsync(string server, string by)
    {
        if ((await StatusAsync(server)).Phase == RotationPhase.Started)
        {
            await IssueForNextKeyAsync(server); // whatever a peer could not issue when the rotation started
        }

        Expect(await plane.AskAsync<object>(server, new SwitchSigningKey(by)));
        await AfterwardsAsync("switched", server, "not every server it trusts holds a credential signed by its new key yet (the ones they hold work until finish)",
            $"`auth rotate {server} finish` issues them again before it drops the old key", () => ReissueToCallersAsync(server));
        return await StatusAsync(server);
    }

    /// <summary>
    /// Everything the old key's retirement would break is put right first, and only then is the old key dropped: a peer
    /// that does not answer leaves the rotation switched (nothing refused), and the command can simply be run again.
    /// </summary>
    public async Task<KeyRotationStatus> FinishAsync(string server, string by)
    {
        if ((await StatusAsync(server)).Phase != RotationPhase.Switched)
        {
            Expect(await plane.AskAsync<object>(server, new FinishKeyRotation(by))); // refused, saying which phase it is in
        }

        await BeforeAsync("finish", server, async () =>
        {
            await ReissueToCallersAsync(server); // its callers hold credentials of the new key
            var identity = await plane.AskAsync<AuthServerIdentity>(server, GetIdentity.Instance);
            foreach (var peer in TrustedBy(server))
            {
                // The peer's credential for the new key as the one key, held as "next" until the finish promotes it.
                await AcceptAsync(server, peer, await IssueAsync(peer, server, identity.NextPublicKeyInfo!, forNextKey: false), forNextKey: true);
                await DropNextAsync(peer, server);
            }
        });
        Expect(await plane.AskAsync<object>(server, new FinishKeyRotation(by)));
        return await StatusAsync(server);
    }

    public async Task<KeyRotationStatus> RollBackAsync(string server, string by)
    {
        var before = await StatusAsync(server);
        if (before.Phase != RotationPhase.Standby)
        {
            await BeforeAsync("rollback", server, async () =>
            {
                // Each peer issues (again) a credential for the old key as the one key: a finish cut short may have replaced it.
                var identity = await plane.AskAsync<AuthServerIdentity>(server, GetIdentity.Instance);
                foreach (var peer in TrustedBy(server))
                {
                    await AcceptAsync(server, peer, await IssueAsync(peer, server, identity.PublicKeyInfo, forNextKey: false), forNextKey: false);
                }
            });
        }

        Expect(await plane.AskAsync<object>(server, new RollBackKeyRotation(by)));
        await AfterwardsAsync("rolled back", server, "not every server has been told yet", $"`auth rotate {server} start` and `rollback` again once they answer", async () =>
        {
            foreach (var peer in TrustedBy(server))
            {
                await DropNextAsync(peer, server);
            }

            if (before.Phase == RotationPhase.Switched)
            {
                await ReissueToCallersAsync(server); // they hold credentials of the dropped key
            }
        });
        return await StatusAsync(server);
    }

    /// <summary>The servers whose <c>trusts</c> name <paramref name="server"/>: they issued it a credential (【0023】).</summary>
    private IEnumerable<string> TrustedBy(string server) =>
        plane.Topology.AuthServers.Where(a => a.Trusts.Contains(server)).Select(a => a.Name);

    private async Task IssueForNextKeyAsync(string server)
    {
        var identity = await plane.AskAsync<AuthServerIdentity>(server, GetIdentity.Instance);
        if (identity.NextPublicKeyInfo is not { } next)
        {
            return;
        }

        foreach (var peer in TrustedBy(server).Where(p => identity.CredentialsHeldNext?.ContainsKey(p) != true))
        {
            await AcceptAsync(server, peer, await IssueAsync(peer, server, next, forNextKey: true), forNextKey: true);
        }
    }

    /// <summary>Every server <paramref name="server"/> trusts gets its credential again, signed by the key that signs now.</summary>
    private async Task ReissueToCallersAsync(string server)
    {
        foreach (var caller in plane.Topology.AuthServer(server).Trusts)
        {
            var identity = await plane.AskAsync<AuthServerIdentity>(caller, GetIdentity.Instance);
            await AcceptAsync(caller, server, await IssueAsync(server, caller, identity.PublicKeyInfo, forNextKey: false), forNextKey: false);
            if (identity.NextPublicKeyInfo is { } next)
            {
                await AcceptAsync(caller, server, await IssueAsync(server, caller, next, forNextKey: true), forNextKey: true);
            }
        }
    }

    private async Task<byte[]> IssueAsync(string issuer, string holder, byte[] publicKeyInfo, bool forNextKey) =>
        await plane.AskAsync<object>(issuer, new IssuePeerCredential(holder, publicKeyInfo, forNextKey)) switch
        {
            PeerCredential issued => issued.CertificateDer,
            AdminRefused refused => throw new InvalidOperationException(refused.Reason),
            var other => throw new InvalidOperationException($"{issuer} answered {other.GetType().Name}"),
        };

    private async Task AcceptAsync(string holder, string issuer, byte[] credential, bool forNextKey)
    {
        switch (await plane.AskAsync<object>(holder, new AcceptPeerCredential(issuer, credential, forNextKey)))
        {
            case PeerCredentialAccepted:
                return;
            case AdminRefused refused:
                throw new InvalidOperationException(refused.Reason);
            case var other:
                throw new InvalidOperationException($"{holder} answered {other.GetType().Name}");
        }
    }

    private async Task DropNextAsync(string issuer, string caller)
    {
        switch (await plane.AskAsync<object>(issuer, new DropPeerNextKey(caller)))
        {
            case NextKeyCredentialDropped:
                return;
            case AdminRefused refused:
                throw new InvalidOperationException(refused.Reason);
            case var other:
                throw new InvalidOperationException($"{issuer} answered {other.GetType().Name}");
        }
    }

    private static void Expect(object answer)
    {
        switch (answer)
        {
            case KeyRotationStatus:
                return;
            case AdminRefused refused:
                throw new InvalidOperationException(refused.Reason);
            default:
                throw new InvalidOperationException($"unexpected answer {answer.GetType().Name}");
        }
    }

    /// <summary>A peer that does not answer before a phase changes: nothing changed at the server, so the command can be run again.</summary>
    private static async Task BeforeAsync(string command, string server, Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (Exception e) when (e is InvalidOperationException or AskTimeoutException)
        {
            throw new InvalidOperationException($"{server}: {command} not done (its phase is unchanged): {e.Message}; run `auth rotate {server} {command}` again once every server answers", e);
        }
    }

    /// <summary>The phase is persisted at the server; a peer that does not answer now is said so, with what to do.</summary>
    private static async Task AfterwardsAsync(string done, string server, string consequence, string remedy, Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (Exception e) when (e is InvalidOperationException or AskTimeoutException)
        {
            throw new InvalidOperationException($"{server}: rotation {done}, but {consequence}: {e.Message}; {remedy}", e);
        }
    }
}
