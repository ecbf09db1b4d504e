using Akka.Actor;
using Akka.Event;

namespace ActorVpn.Hosting;

/// <summary>
/// Renews the inter-server credentials (【0023】) of a running control plane before they expire
/// (<c>actorvpn.auth-server.credential-renew-before</c>), so a node that runs longer than
/// <c>peer-credential-lifetime</c> keeps handing off. Checks on a timer; a check that fails (a
/// server unreachable for a while) is logged and the next one tries again, while the credentials
/// held still serve until they expire.
/// </summary>
public sealed class CredentialRenewal : ReceiveActor, IWithTimers
{
    public const string Name = "credential-renewal";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ControlPlane _plane;
    private readonly TimeSpan _renewBefore;
    private bool _checking;

    public CredentialRenewal(ControlPlane plane, TimeSpan renewBefore)
    {
        _plane = plane;
        _renewBefore = renewBefore;
        Receive<Check>(_ =>
        {
            if (_checking)
            {
                return; // the previous check is still asking the servers
            }

            _checking = true;
            _plane.RenewCredentialsAsync(_renewBefore).PipeTo(Self, success: renewed => new Checked(renewed, null), failure: e => new Checked([], e));
        });
        Receive<Checked>(done =>
        {
            _checking = false;
            if (done.Failure is { } failure)
            {
                _log.Warning("inter-server credentials could not be renewed now ({0}); trying again in {1}", failure.GetBaseException().Message, Interval);
            }
            else if (done.Renewed.Count > 0)
            {
                _log.Info("inter-server credentials renewed: {0}", string.Join(", ", done.Renewed));
                Context.System.EventStream.Publish(new CredentialsRenewed(done.Renewed));
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Often enough that a credential is renewed well inside its renewal margin, at most hourly.</summary>
    private TimeSpan Interval => TimeSpan.FromTicks(Math.Clamp(_renewBefore.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromHours(1).Ticks));

    public static Props Props(ControlPlane plane, TimeSpan renewBefore) => Akka.Actor.Props.Create(() => new CredentialRenewal(plane, renewBefore));

    protected override void PreStart() => Timers.StartPeriodicTimer(nameof(Check), Check.Instance, Interval);

    /// <summary>Published on the event stream when credentials were renewed ("issuer -> holder").</summary>
    public sealed record CredentialsRenewed(IReadOnlyList<string> Renewed);

    private sealed record Check
    {
        public static readonly Check Instance = new();
    }

    private sealed record Checked(IReadOnlyList<string> Renewed, Exception? Failure);
}
