namespace ActorVpn.Credentials;

/// <summary>A credential (key, certificate, PEM text) could not be read, imported or issued.</summary>
public sealed class CredentialException : Exception
{
    public CredentialException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
