using ActorVpn.AuthServers;
using ActorVpn.AuthServers.Hosting;
using ActorVpn.Messaging;
using Akka.Actor;
using Akka.Configuration;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.Cluster;

/// <summary>
/// Which nodes may administer the auth servers (<c>actorvpn.node.admin-roles</c>, hocon/cluster.hocon):
/// an administrative message is acted on only if it comes from this node, or from a member of the
/// cluster with one of the roles allowed to send it. Anything else (a system that reached port 4053
/// without joining, a proxy node asking to register a user, a message with no reply address) is
/// refused, and the auth server logs the refusal.
/// <para>
/// Roles are what a member declared when it joined; what stops a stranger from joining at all is
/// mutual TLS with the cluster CA (<see cref="RemoteTls"/>). This check keeps a node that may join (an
/// internet-facing proxy node, say) to the messages its role needs.
/// </para>
/// </summary>
public static class AdminSenders
{
    public const string Section = "actorvpn.node.admin-roles";

    /// <summary>The configuration key of each administrative message.</summary>
    public static readonly IReadOnlyDictionary<Type, string> Keys = new Dictionary<Type, string>
    {
        [typeof(RegisterUser)] = "register-user",
        [typeof(RevokeUser)] = "revoke-user",
        [typeof(IssuePeerCredential)] = "issue-credential",
        [typeof(AcceptPeerCredential)] = "accept-credential",
        [typeof(EnrollProxy)] = "enrol-proxy",
        [typeof(KeyRotationProtocol.StartKeyRotation)] = "rotate-key",
        [typeof(KeyRotationProtocol.SwitchSigningKey)] = "rotate-key",
        [typeof(KeyRotationProtocol.FinishKeyRotation)] = "rotate-key",
        [typeof(KeyRotationProtocol.RollBackKeyRotation)] = "rotate-key",
        [typeof(KeyRotationProtocol.DropPeerNextKey)] = "issue-credential",
    };

    /// <summary>The roles allowed to send each administrative message, by message type.</summary>
    public static IReadOnlyDictionary<Type, IReadOnlySet<string>> FromConfig(Config config) =>
        Keys.ToDictionary(k => k.Key, k => (IReadOnlySet<string>)config.GetStringList($"{Section}.{k.Value}").ToHashSet(StringComparer.Ordinal));

    /// <summary>The admission of the auth servers on <paramref name="system"/>'s node.</summary>
    public static AdminAdmission For(ActorSystem system, IReadOnlyDictionary<Type, IReadOnlySet<string>> allowed)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        return (sender, command) =>
        {
            if (sender.IsNobody())
            {
                return "it carries no reply address";
            }

            var from = sender.Path.Address;
            if (from.HasLocalScope || from.Equals(cluster.SelfAddress))
            {
                return null;
            }

            var roles = allowed.GetValueOrDefault(command.GetType()) ?? new HashSet<string>();
            var member = cluster.State.Members.FirstOrDefault(m => m.Address.Equals(from));
            if (member is null || member.Status is Akka.Cluster.MemberStatus.Down or Akka.Cluster.MemberStatus.Removed)
            {
                return $"{from} is not a member of the cluster";
            }

            return member.Roles.Any(roles.Contains)
                ? null
                : $"node {from} (roles {string.Join(", ", member.Roles.Order(StringComparer.Ordinal))}) has none of the roles allowed to send it ({string.Join(", ", roles.Order(StringComparer.Ordinal))}; {Section}.{Keys[command.GetType()]})";
        };
    }
}
