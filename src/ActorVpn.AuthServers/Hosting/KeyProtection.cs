namespace ActorVpn.AuthServers.Hosting;

/// <summary>
/// The secret that protects an auth server's signing key at rest: the key is journalled only as an
/// encrypted PKCS#8 (<see cref="State.AuthorityCreated.KeyIsProtected"/>). Never printed.
/// </summary>
public sealed class KeyProtection(string secret)
{
    public ReadOnlySpan<char> Secret => secret;

    public override string ToString() => "KeyProtection(***)";
}
