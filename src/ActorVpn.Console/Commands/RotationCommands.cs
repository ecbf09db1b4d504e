using System.CommandLine;
using System.Text;
using ActorVpn.AuthServers.State;
using ActorVpn.Hosting;
using Akka.Actor;
using static ActorVpn.AuthServers.KeyRotationProtocol;
using static ActorVpn.Protocol.AuthServerAdmin;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.OperatorConsole.Commands;

/// <summary>
/// <c>auth rotate AS start|switch|finish|rollback|status</c>: an auth server's signing key rotated in phases
/// (<see cref="KeyRotation"/>), on <c>avpn up</c> and on a cluster node alike. The four phase commands are operator
/// actions (audited under the operator's name, refused while the trail cannot be written); <c>status</c> is an
/// inspection and changes nothing.
/// </summary>
public sealed class RotationCommands(ConsoleNode node, TimeSpan timeout)
{
    public static readonly IReadOnlyList<string> Phases = ["start", "switch", "finish", "rollback"];

    private static readonly Argument<string> Server = ConsoleValues.Word("AS");

    private static readonly Argument<string> Phase = ConsoleValues.Choice("PHASE", [.. Phases, "status"],
        phase => $"unknown phase '{phase}' (start, switch, finish, rollback or status)");

    public static readonly ConsoleVerb Verb = new("auth rotate",
        "rotate AS's signing key in phases: start (new key trusted too), switch (new key signs), finish (old key dropped), rollback (before finish), status",
        [Server, Phase], ArityProblem: "'auth rotate' takes an auth server and a phase");

    /// <summary>Is this an <c>auth rotate</c> phase, which changes state (and is audited)?</summary>
    public static bool IsPhase(VerbCall call) => ReferenceEquals(call.Verb, Verb) && Phases.Contains(call.Value(Phase));

    public async Task<ConsoleReply> RunAsync(VerbCall call, string by)
    {
        var (server, phase) = (call.Value(Server), call.Value(Phase));
        if (!node.Topology.HasAuthServer(server))
        {
            return ConsoleReply.Failure($"no auth server '{server}' (known: {string.Join(", ", node.Topology.AuthServers.Select(a => a.Name))})");
        }

        var rotation = new KeyRotation(await node.ControlAsync(timeout));
        var renewed = new List<string>();
        var status = phase switch
        {
            "start" => await rotation.StartAsync(server, by),
            "switch" => await rotation.SwitchAsync(server, by),
            "finish" => await rotation.FinishAsync(server, by),
            "rollback" => await rotation.RollBackAsync(server, by),
            _ => await rotation.StatusAsync(server),
        };

        if (phase == "finish")
        {
            // The proxies' identities move to the one key left now (profiles written during the rotation trust it already).
            var (ok, problems) = await RenewProxiesAsync(server);
            renewed.AddRange(ok);
            status = await rotation.StatusAsync(server);
            if (problems.Count > 0)
            {
                return ConsoleReply.Failure($"{server}: rotation finished, but {string.Join("; ", problems)}: such a proxy presents an identity of the retired key " +
                    $"until it renews it (at its renewal time or restart); `auth rotate {server} status` lists them");
            }
        }

        return ConsoleCommands.Reply(call, new { ok = true, status, proxiesRenewed = renewed }, Text(status, phase, renewed));
    }

    /// <summary>Asks every proxy of <paramref name="server"/>, wherever it runs, for an identity signed by the key it signs with now.</summary>
    private async Task<(List<string> Renewed, List<string> Problems)> RenewProxiesAsync(string server)
    {
        var owned = node.Topology.Proxies.Where(p => p.AuthServer == server).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var running = (await node.ProxiesAsync(TimeSpan.FromTicks(Math.Min(timeout.Ticks, TimeSpan.FromSeconds(2).Ticks)))).Where(p => owned.Contains(p.Proxy)).ToList();
        var renewed = new List<string>();
        var problems = owned.Except(running.Select(p => p.Proxy)).Order(StringComparer.Ordinal).Select(p => $"{p} is not running on any reachable node").ToList();
        foreach (var proxy in running)
        {
            try
            {
                switch (await proxy.Actor.Ask<object>(RenewProxyIdentity.Instance, timeout))
                {
                    case ProxyIdentityRenewed:
                        renewed.Add(proxy.Proxy);
                        break;
                    case AdminRefused refused:
                        problems.Add($"{proxy.Proxy} was not renewed: {refused.Reason}");
                        break;
                }
            }
            catch (AskTimeoutException)
            {
                problems.Add($"{proxy.Proxy} did not answer within {timeout.TotalSeconds:0} s");
            }
        }

        return (renewed, problems);
    }

    private static string Text(KeyRotationStatus s, string phase, IReadOnlyList<string> renewed)
    {
        var text = new StringBuilder();
        text.Append(phase switch
        {
            "start" => $"{s.Name}: rotation started: a new signing key is trusted alongside the current one, which still signs\n",
            "switch" => $"{s.Name}: switched: the new key signs user certificates and inter-server credentials; the old one still verifies\n",
            "finish" => $"{s.Name}: rotation finished: the old key is retired; what only it signed is refused\n",
            "rollback" => $"{s.Name}: rotation rolled back: the new key is dropped; the old one signs everything again\n",
            _ => string.Empty,
        });
        text.Append($"auth server {s.Name}: phase {s.Phase}\n");
        text.Append($"  current anchor : sha256:{s.CurrentAnchorSha256}\n");
        if (s.NextAnchorSha256 is { } next)
        {
            text.Append($"  new anchor     : sha256:{next}\n");
            text.Append($"  started        : {s.StartedAt:u} by {s.StartedBy}\n");
        }

        if (s.SwitchedAt is { } switched)
        {
            text.Append($"  switched       : {switched:u} by {s.SwitchedBy}\n");
        }

        if (s.Phase != RotationPhase.Standby)
        {
            text.Append($"  users to enrol again before finish (certificate of the old key): {s.UsersToEnrolAgain}\n");
            text.Append($"  servers without a credential for the new key: {(s.PeersMissingNextCredential.Count == 0 ? "(none)" : string.Join(", ", s.PeersMissingNextCredential))}\n");
        }

        if (s.LastRetiredAt is { } retired)
        {
            text.Append($"  retired keys   : {s.RetiredAnchorsSha256.Count} (latest at {retired:u})\n");
        }

        if (renewed.Count > 0)
        {
            text.Append($"  proxies renewed: {string.Join(", ", renewed)}\n");
        }

        if (s.ProxiesOnOldKey.Count > 0)
        {
            text.Append($"  proxies still on a retired key: {string.Join(", ", s.ProxiesOnOldKey)}\n");
        }

        return text.ToString();
    }
}
