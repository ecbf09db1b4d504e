using System.Net.Sockets;

namespace ActorVpn.Client;

/// <summary>What a local application asked for: the text it named, and the profile's destination that text resolves to (null: none).</summary>
public sealed record LocalRequest(string Requested, string? Destination);

/// <summary>
/// How a local connection of <c>avpn connect</c> names its destination (Fig. 5, step 501) and hears whether the
/// chain is up: a fixed destination (<c>--listen</c> with <c>--to</c>), SOCKS5 or HTTP CONNECT. A front only
/// reads the request and writes the one reply; the session's bytes then go through the relay pump.
/// </summary>
public interface ILocalFront
{
    /// <summary>Reads the application's request without reading past it (whatever follows belongs to the session).</summary>
    /// <exception cref="LocalRequestException">The application did not speak the protocol; it has been answered if the protocol allows.</exception>
    Task<LocalRequest> NegotiateAsync(NetworkStream local, ClientProfile profile, CancellationToken ct);

    /// <summary>Tells the application that the chain is up and bytes now go to the destination (Fig. 5, step 508).</summary>
    Task ConfirmAsync(NetworkStream local, CancellationToken ct);

    /// <summary>Tells the application why there is no session, by the contract's error code (【0053】).</summary>
    Task RefuseAsync(NetworkStream local, string code, string message, CancellationToken ct);
}

/// <summary>The local application broke the SOCKS5 or HTTP CONNECT protocol; the connection is closed.</summary>
public sealed class LocalRequestException(string message) : Exception(message);

/// <summary><c>--listen</c> with <c>--to</c>: every connection goes to one destination; the application says nothing and hears nothing.</summary>
public sealed class FixedDestinationFront(string destination) : ILocalFront
{
    public Task<LocalRequest> NegotiateAsync(NetworkStream local, ClientProfile profile, CancellationToken ct) =>
        Task.FromResult(new LocalRequest(destination, destination));

    public Task ConfirmAsync(NetworkStream local, CancellationToken ct) => Task.CompletedTask;

    public Task RefuseAsync(NetworkStream local, string code, string message, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>Reading a request's bytes from the local application, never past what the request holds.</summary>
internal static class LocalBytes
{
    public static async Task<byte> ReadByteAsync(NetworkStream local, CancellationToken ct)
    {
        var one = new byte[1];
        await ReadExactlyAsync(local, one, ct);
        return one[0];
    }

    public static async Task ReadExactlyAsync(NetworkStream local, Memory<byte> buffer, CancellationToken ct)
    {
        try
        {
            await local.ReadExactlyAsync(buffer, ct);
        }
        catch (EndOfStreamException)
        {
            throw new LocalRequestException("the application closed the connection before its request was complete");
        }
    }
}
