namespace ActorVpn.Protocol;

/// <summary>
/// The flow-chart steps of the patent that an auth server performs (see docs/patent.md).
/// Each is observable on the event stream (<see cref="HandOffStepReached"/>) and is a place where a
/// test harness may inject a fault.
/// </summary>
public enum PatentStep
{
    /// <summary>Fig. 7, 701: an authentication request arrives (from a proxy or another auth server).</summary>
    Fig7Receive701,

    /// <summary>Fig. 7, 702: the certificate or the inter-server credential is checked.</summary>
    Fig7Check702,

    /// <summary>Fig. 8, 801: is certificate 1 one that this server issued?</summary>
    Fig8IssuedHere801,

    /// <summary>Fig. 8, 802: the home server looks up the next auth server in Fig. 2.</summary>
    Fig8LookUp802,

    /// <summary>Fig. 8, 803: no entry: escalate to the upper auth server (【0054】).</summary>
    Fig8Escalate803,

    /// <summary>Fig. 8, 805: connect to the next auth server with the inter-server credential.</summary>
    Fig8Connect805,

    /// <summary>Fig. 8, 808: send certificate 1 to the next auth server.</summary>
    Fig8SendCertificate808,

    /// <summary>Fig. 8, 809: the relay route came back.</summary>
    Fig8RouteReceived809,

    /// <summary>Fig. 8, 810/811: route and "authenticated" sent to the proxy.</summary>
    Fig8Authenticated811,

    /// <summary>Fig. 8, 811 (held branch): a handed-off certificate is used and discarded (【0045】).</summary>
    Fig8HeldUsed811,

    /// <summary>Fig. 9, 901: certificate 1 received from another auth server, held.</summary>
    Fig9Receive901,

    /// <summary>Fig. 9, 902: look up the next auth server in Fig. 2.</summary>
    Fig9LookUp902,

    /// <summary>Fig. 9, 903/904: no entry: escalate to the upper auth server.</summary>
    Fig9Escalate903,

    /// <summary>Fig. 9, 905: connect and authenticate to the next auth server.</summary>
    Fig9Connect905,

    /// <summary>Fig. 9, 908: send certificate 1 to the next auth server.</summary>
    Fig9SendCertificate908,

    /// <summary>Fig. 9, 909: the relay route came back.</summary>
    Fig9RouteReceived909,

    /// <summary>Fig. 9, 910: this server's relay proxy prepended (if any), route returned.</summary>
    Fig9ReturnRoute910,

    /// <summary>【0036】: a server that manages no relay proxy for the destination discards certificate 1.</summary>
    DiscardNoRelay0036,

    /// <summary>A held certificate dropped: used, timed out, or released by a failure (【0053】).</summary>
    HeldDropped,
}

public static class PatentStepNames
{
    /// <summary>The citation used in logs, errors and traces, e.g. "Fig. 9, step 910".</summary>
    public static string Cite(this PatentStep step) => step switch
    {
        PatentStep.Fig7Receive701 => "Fig. 7, step 701",
        PatentStep.Fig7Check702 => "Fig. 7, step 702",
        PatentStep.Fig8IssuedHere801 => "Fig. 8, step 801",
        PatentStep.Fig8LookUp802 => "Fig. 8, step 802",
        PatentStep.Fig8Escalate803 => "Fig. 8, step 803",
        PatentStep.Fig8Connect805 => "Fig. 8, step 805",
        PatentStep.Fig8SendCertificate808 => "Fig. 8, step 808",
        PatentStep.Fig8RouteReceived809 => "Fig. 8, step 809",
        PatentStep.Fig8Authenticated811 => "Fig. 8, step 811",
        PatentStep.Fig8HeldUsed811 => "Fig. 8, step 811 (held certificate)",
        PatentStep.Fig9Receive901 => "Fig. 9, step 901",
        PatentStep.Fig9LookUp902 => "Fig. 9, step 902",
        PatentStep.Fig9Escalate903 => "Fig. 9, step 903/904",
        PatentStep.Fig9Connect905 => "Fig. 9, step 905",
        PatentStep.Fig9SendCertificate908 => "Fig. 9, step 908",
        PatentStep.Fig9RouteReceived909 => "Fig. 9, step 909",
        PatentStep.Fig9ReturnRoute910 => "Fig. 9, step 910",
        PatentStep.DiscardNoRelay0036 => "【0036】 discard",
        PatentStep.HeldDropped => "【0045】 held certificate dropped",
        _ => step.ToString(),
    };
}

/// <summary>Published on the actor system's event stream each time an auth server reaches a step.</summary>
/// <param name="Peer">The other auth server involved, where there is one (the caller at Fig. 7 step 701 and Fig. 9 step 901).</param>
public sealed record HandOffStepReached(string AuthServer, PatentStep Step, string HandOffId, string Detail, string? Peer = null)
{
    public override string ToString() => $"{AuthServer} {Step.Cite()} [{HandOffId}] {Detail}";
}
