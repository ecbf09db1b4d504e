using ActorVpn.Messaging;
using Akka.Actor;

namespace ActorVpn.AuthServers.Hosting;

/// <summary>
/// Decides whether an auth server acts on an administrative message (register, revoke, credential issue
/// and acceptance, proxy enrolment) from <paramref name="sender"/>: null admits it, otherwise the reason it
/// is refused. A single process admits everything (its only senders are its own); a cluster node admits
/// only senders on nodes whose roles may send that message (ActorVpn.Cluster.AdminSenders).
/// </summary>
public delegate string? AdminAdmission(IActorRef sender, IActorVpnMessage command);
