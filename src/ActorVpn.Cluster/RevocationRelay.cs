using ActorVpn.Messaging;
using ActorVpn.Protocol;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using static ActorVpn.Protocol.AuthServerAdmin;
using static ActorVpn.Proxies.ProxyProtocol;

namespace ActorVpn.Cluster;

/// <summary>
/// Revocation across the cluster (【0053】): an auth server announces a persisted revocation on its
/// own node's event stream; this relay, one per node, publishes it on the cluster-wide topic
/// (Akka's DistributedPubSub), and on every node tells each local proxy to close the user's
/// sessions, relaying or still authenticating. So <c>user revoke</c> on any console, on a node with
/// or without proxies, reaches every proxy of every node.
/// </summary>
public sealed class RevocationRelay : ReceiveActor
{
    public const string Name = "revocation-relay";

    public const string Topic = "actorvpn-revocations";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _mediator = DistributedPubSub.Get(Context.System).Mediator;

    public RevocationRelay()
    {
        Receive<UserRevokedNotice>(notice => _mediator.Tell(new Publish(Topic, new UserRevokedEverywhere(notice.User, notice.AuthServer))));
        Receive<UserRevokedEverywhere>(revoked =>
        {
            _log.Info("user {0} revoked at {1}: closing its sessions on this node's proxies", revoked.User, revoked.AuthServer);
            Context.ActorSelection("/user/proxies/*").Tell(new CloseUserSessions(revoked.User, $"user {revoked.User} revoked at {revoked.AuthServer}",
                ErrorCodes.CertificateRevoked, revoked.AuthServer));
        });
        Receive<SubscribeAck>(_ => { });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new RevocationRelay());

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(UserRevokedNotice));
        _mediator.Tell(new Subscribe(Topic, Self));
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    /// <summary>What the topic carries: one revocation, for every node.</summary>
    public sealed record UserRevokedEverywhere(string User, string AuthServer) : IActorVpnMessage;
}
