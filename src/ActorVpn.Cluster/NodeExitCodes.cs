namespace ActorVpn.Cluster;

/// <summary>
/// How <c>avpn node</c> ends, one code per cause, so a supervisor (Kubernetes, systemd) and an
/// operator can tell them apart (docs/cluster-node.md).
/// </summary>
public static class NodeExitCodes
{
    /// <summary>SIGTERM: sessions drained, the node left the cluster and its groups handed over.</summary>
    public const int Left = 0;

    /// <summary>The node could not start (e.g. a port in use, the seed nodes never answered the join).</summary>
    public const int FailedStart = 1;

    /// <summary>The configuration is wrong (every <c>avpn</c> command's usage code): a restart alone will not help.</summary>
    public const int Configuration = 2;

    /// <summary>The cluster downed this node (the split-brain resolver, or an operator's down): restart it to rejoin.</summary>
    public const int Downed = 3;

    /// <summary>The store did not answer a starting node within <c>actorvpn.node.store-wait</c>: no group's state can be recovered.</summary>
    public const int StoreUnrecoverable = 4;
}
