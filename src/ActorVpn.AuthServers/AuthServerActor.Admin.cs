using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorVpn.AuthServers.State;
using ActorVpn.Credentials;
using ActorVpn.Messaging;
using Akka.Actor;
using Akka.Event;
using static ActorVpn.Protocol.AuthServerAdmin;

namespace ActorVpn.AuthServers;

/// <summary>Carrying out the administrative commands <see cref="AdminCommands"/> decides: persist the events, then reply.</summary>
public sealed partial class AuthServerActor
{
    /// <summary>Acts on an administrative message only if its sender may send it and the state allows it; a refusal is answered.</summary>
    private void Admitted<T>(T command, Action<T> handle)
        where T : IActorVpnMessage
    {
        if (_settings.Admission?.Invoke(Sender, command) is { } refusal)
        {
            _log.Warning("{0}: refused {1} from {2}: {3}", Me, typeof(T).Name, Sender, refusal);
            Sender.Tell(new AdminRefused($"{typeof(T).Name} refused: {refusal}"));
            return;
        }

        if (AdminCommands.Refusal(_state, _spec, _topology, command) is { } refused)
        {
            Sender.Tell(refused);
            return;
        }

        handle(command);
    }

    /// <summary>A command decided on the state alone (<see cref="AdminCommands.ProcessCommand"/>): its events persisted, then the reply.</summary>
    private void Decide(IActorVpnMessage command)
    {
        var outcome = AdminCommands.ProcessCommand(_state, _topology, command, Now, rotating: _keys.Next is not null);
        var replyTo = Sender;
        if (outcome.Events.Count == 0)
        {
            replyTo.Tell(outcome.Reply);
            return;
        }

        PersistAll(outcome.Events, evt =>
        {
            ApplyEvent(evt);
            if (evt is UserRevoked revoked)
            {
                _log.Info("user {0} revoked at {1} by {2}", revoked.User, Me, revoked.By);
                EndHandOffsOf(revoked.User);
                Context.System.EventStream.Publish(new UserRevokedNotice(revoked.User, Me));
            }

            if (ReferenceEquals(evt, outcome.Events[^1]))
            {
                replyTo.Tell(outcome.Reply);
            }
        });
    }

    private void HandleRegisterUser(RegisterUser register)
    {
        X509Certificate2 issued;
        try
        {
            var now = Now;
            issued = Signer.Issue(CertificateKind.User, register.User, register.SubjectPublicKeyInfo, now.AddMinutes(-5), now + (register.Lifetime ?? _settings.UserCertificateLifetime));
        }
        catch (Exception e) when (e is CredentialException or CryptographicException or ArgumentException)
        {
            Sender.Tell(new AdminRefused($"cannot issue a certificate for '{register.User}': {e.Message}"));
            return;
        }

        var replyTo = Sender;
        // The profile's anchor checks the entry proxy, whose identity the current key signs until a rotation finishes; during one,
        // the profile also gets the new key's anchor, so it keeps reaching the proxy once their identities move to that key.
        var anchor = _keys.Current.Certificate.RawData;
        var nextAnchor = _keys.Next?.Certificate.RawData;
        using (issued)
        {
            Persist(new UserRegistered(register.User, issued.RawData, Now, register.By), evt =>
            {
                ApplyEvent(evt);
                _log.Info("user {0} registered at {1} by {2}", evt.User, Me, evt.By);
                replyTo.Tell(new UserCertificateIssued(evt.User, evt.CertificateDer, anchor, nextAnchor));
            });
        }
    }

    private void HandleIssuePeerCredential(IssuePeerCredential issue)
    {
        var now = Now;
        using var credential = Signer.Issue(CertificateKind.InterServer, issue.Caller, issue.CallerPublicKeyInfo, now.AddMinutes(-5), now + _settings.PeerCredentialLifetime);
        var replyTo = Sender;
        Persist(new PeerCredentialIssued(issue.Caller, credential.RawData, issue.ForNextKey), evt =>
        {
            ApplyEvent(evt);
            replyTo.Tell(new PeerCredential(Me, evt.Peer, evt.CertificateDer));
        });
    }

    private void HandleEnrollProxy(EnrollProxy enroll)
    {
        var now = Now;
        using var certificate = _keys.Current.Issue(CertificateKind.Proxy, enroll.Proxy, enroll.SubjectPublicKeyInfo, now.AddMinutes(-5), now + _settings.PeerCredentialLifetime);
        var replyTo = Sender;
        var anchor = _keys.Current.Certificate.RawData;
        Persist(new ProxyEnrolled(enroll.Proxy, certificate.RawData, Pins.SpkiSha256(certificate), enroll.ListenAddress), evt =>
        {
            ApplyEvent(evt);
            replyTo.Tell(new ProxyIdentityIssued(evt.Proxy, evt.CertificateDer, anchor));
        });
    }

    private AuthServerIdentity Identity() => new(Me, _spec.Parent, _keys.Current.Certificate.RawData, _keys.Current.SubjectPublicKeyInfo, _state.CredentialsHeld,
        _keys.Next?.SubjectPublicKeyInfo, _keys.Next is null ? null : _state.CredentialsHeldNext);

    private AuthServerStatus Status() => AdminCommands.Status(_state, _spec, _tables.Members, _ledger, _ledger.Pending.Count);
}
