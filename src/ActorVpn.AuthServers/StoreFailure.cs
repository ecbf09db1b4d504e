using ActorVpn.Protocol;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.Protocol.AuthServerAdmin;
using static ActorVpn.Protocol.ClientAuthProtocol;
using static ActorVpn.Protocol.HandOffProtocol;

namespace ActorVpn.AuthServers;

/// <summary>
/// Prompt answers from an auth server that is failing because the store failed: nobody
/// waits for an ask timeout, and nothing is authorised on unconfirmed state.
///
/// Three cases: the command whose write the store did not confirm is answered from
/// <see cref="AuthServerActor"/>'s <c>OnPersistFailure</c> (<see cref="Answer"/>); commands that
/// were waiting behind that write (Akka.Persistence stashes them) or that reach the server while it
/// is stopped or restarting end as dead letters, which <see cref="StoreFailureAnswerer"/> answers.
/// Hand-off and client requests get the contract's <c>unreachable</c> (the nearest code: the
/// server cannot serve them), administrative commands an <see cref="AdminRefused"/> starting
/// with <see cref="Code"/>, inspection asks a failure.
/// </summary>
public static class StoreFailure
{
    /// <summary>The prefix of an administrative refusal for this reason (not a hand-off code: those stay as documented).</summary>
    public const string Code = "store-unavailable";

    /// <summary>Answers <paramref name="message"/> on behalf of auth server <paramref name="server"/>; false if it needs no answer.</summary>
    public static bool Answer(IActorRef replyTo, object message, string server, string why)
    {
        if (replyTo.IsNobody() || replyTo is DeadLetterActorRef)
        {
            return false;
        }

        var text = $"{Code}: auth server {server} is not serving ({why}); nothing is authorised on state the store has not confirmed, retry when it is back";
        object? answer = message switch
        {
            AuthenticateClient => new ClientRefused(new HandOffError(ErrorCodes.Unreachable, server, PatentStep.Fig7Check702.Cite(), text), [server]),
            OpenHandOff open => new HandOffFailed(new HandOffError(ErrorCodes.Unreachable, server, PatentStep.Fig7Check702.Cite(), text), [open.Caller, server]),
            HandOffCertificate certificate => new HandOffFailed(new HandOffError(ErrorCodes.Unreachable, server, PatentStep.Fig7Check702.Cite(), text), certificate.Path.Append(server).ToList()),
            RegisterUser or RevokeUser or IssuePeerCredential or AcceptPeerCredential or EnrollProxy or FindUser => new AdminRefused(text),
            GetIdentity or GetStatus => new Status.Failure(new InvalidOperationException(text)),
            // an event whose write failed: the command it came from was administrative (every Persist in AuthServerActor is)
            State.IAuthServerEvent => new AdminRefused(text),
            _ => null,
        };
        if (answer is null)
        {
            return false;
        }

        replyTo.Tell(answer);
        return true;
    }
}

/// <summary>
/// Answers requests that became dead letters at an auth server (stashed behind a write the store
/// refused, or sent while the server was stopped for a store failure): see <see cref="StoreFailure"/>.
/// One per actor system, subscribed to <see cref="DeadLetter"/>.
/// </summary>
public sealed class StoreFailureAnswerer : ReceiveActor
{
    public const string Name = "store-failure-answerer";

    public StoreFailureAnswerer()
    {
        Receive<DeadLetter>(dead =>
        {
            var path = dead.Recipient.Path;
            var elements = path.Elements;
            if (elements.Count >= 3 && elements[0] == "user" && elements[1] == AuthServersGuardian.Name)
            {
                StoreFailure.Answer(dead.Sender, dead.Message, path.Name, "stopped after a store failure, restarting with back-off");
            }
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new StoreFailureAnswerer());

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
}
