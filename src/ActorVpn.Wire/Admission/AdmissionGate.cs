using System.Net;

namespace ActorVpn.Wire.Admission;

/// <summary>
/// Caps how many connections of one kind (not yet authenticated, or in their TLS handshake) a
/// listener holds at once: in total, and per source address. Anything from the network is hostile
/// until authenticated, so a peer that opens connections and never finishes them gets at most its
/// per-address share and can never take the whole listener. Thread-safe: the accept loop enters,
/// the connection's actor leaves.
/// </summary>
public sealed class AdmissionGate
{
    private readonly object _gate = new();
    private readonly Dictionary<IPAddress, int> _perAddress = [];
    private int _total;

    /// <param name="maxTotal">Most connections held at once; at least 1.</param>
    /// <param name="maxPerAddress">Most connections held at once from one source address; at least 1.</param>
    public AdmissionGate(int maxTotal, int maxPerAddress)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTotal, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerAddress, 1);
        MaxTotal = maxTotal;
        MaxPerAddress = maxPerAddress;
    }

    public int MaxTotal { get; }

    public int MaxPerAddress { get; }

    /// <summary>Connections held now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    /// <summary>A place for one connection from <paramref name="source"/>, or null with why when a cap is reached.</summary>
    public Lease? TryEnter(IPAddress source, out string? refusal)
    {
        source = source.IsIPv4MappedToIPv6 ? source.MapToIPv4() : source;
        lock (_gate)
        {
            if (_total >= MaxTotal)
            {
                refusal = $"{MaxTotal} connections held in total";
                return null;
            }

            var held = _perAddress.GetValueOrDefault(source);
            if (held >= MaxPerAddress)
            {
                refusal = $"{MaxPerAddress} connections held from {source}";
                return null;
            }

            _perAddress[source] = held + 1;
            _total++;
            refusal = null;
            return new Lease(this, source);
        }
    }

    private void Leave(IPAddress source)
    {
        lock (_gate)
        {
            _total--;
            var held = _perAddress[source] - 1;
            if (held == 0)
            {
                _perAddress.Remove(source);
            }
            else
            {
                _perAddress[source] = held;
            }
        }
    }

    /// <summary>One connection's place; disposing it (once, or again: a no-op) frees the place.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly AdmissionGate _owner;
        private readonly IPAddress _source;
        private int _left;

        internal Lease(AdmissionGate owner, IPAddress source)
        {
            _owner = owner;
            _source = source;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                _owner.Leave(_source);
            }
        }
    }
}
