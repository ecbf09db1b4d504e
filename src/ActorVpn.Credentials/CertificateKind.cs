namespace ActorVpn.Credentials;

/// <summary>What a leaf certificate is for. Encoded as the subject's OU and the extended key usage.</summary>
public enum CertificateKind
{
    User,
    Proxy,
    InterServer,
    Operator,
}

/// <summary>The outcome of checking a certificate against an authority.</summary>
public enum CertificateVerdict
{
    Valid,
    NotIssuedHere,
    Expired,
    NotYetValid,
    WrongKind,
    Malformed,
}
