namespace ActorVpn.Wire.Admission;

/// <summary>
/// What a listener admits before a peer has authenticated (the <c>admission</c> block of
/// <c>actorvpn.data-plane</c> and <c>actorvpn.console</c>): caps on connections not yet
/// authenticated and on TLS handshakes in progress, each in total and per source address, and how
/// long a connection may stay unauthenticated.
/// </summary>
public sealed record AdmissionLimits(int MaxUnauthenticated, int MaxUnauthenticatedPerAddress, int MaxHandshakes, int MaxHandshakesPerAddress,
    TimeSpan PreAuthTimeout)
{
    /// <summary>The documented defaults (hocon/actorvpn.hocon, hocon/console.hocon).</summary>
    public static readonly AdmissionLimits Default = new(4096, 256, 1024, 128, TimeSpan.FromSeconds(5));

    /// <summary>A fresh pair of gates for one listener.</summary>
    public AdmissionGates NewGates() => new(new AdmissionGate(MaxUnauthenticated, MaxUnauthenticatedPerAddress), new AdmissionGate(MaxHandshakes, MaxHandshakesPerAddress));
}

/// <summary>The gates of one listener: not yet authenticated, and in the TLS handshake.</summary>
public sealed record AdmissionGates(AdmissionGate Unauthenticated, AdmissionGate Handshakes)
{
    /// <summary>Places in both gates for a connection from <paramref name="source"/>, or null with why when either is full.</summary>
    public Admitted? TryAdmit(System.Net.IPAddress source, out string? refusal)
    {
        var unauthenticated = Unauthenticated.TryEnter(source, out refusal);
        if (unauthenticated is null)
        {
            refusal = $"not yet authenticated: {refusal}";
            return null;
        }

        var handshake = Handshakes.TryEnter(source, out refusal);
        if (handshake is null)
        {
            unauthenticated.Dispose();
            refusal = $"in the TLS handshake: {refusal}";
            return null;
        }

        return new Admitted(unauthenticated, handshake);
    }
}

/// <summary>
/// One admitted connection's places: <see cref="HandshakeDone"/> when its TLS handshake finished,
/// <see cref="RequestRead"/> when the peer's own part of the set-up is done (its request is in),
/// <see cref="Authenticated"/> when the peer proved who it is; disposing frees whatever is still held.
/// </summary>
public sealed class Admitted(AdmissionGate.Lease unauthenticated, AdmissionGate.Lease handshake) : IDisposable
{
    private volatile bool _requestRead;

    /// <summary>True until the peer has finished TLS and sent its request: what the pre-authentication deadline bounds.</summary>
    public bool WithinPreAuth => !_requestRead;

    public void HandshakeDone() => handshake.Dispose();

    public void RequestRead()
    {
        HandshakeDone();
        _requestRead = true;
    }

    public void Authenticated()
    {
        RequestRead();
        unauthenticated.Dispose();
    }

    public void Dispose() => Authenticated();
}
