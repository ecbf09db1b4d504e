namespace ActorVpn.Messaging;

/// <summary>
/// The short, stable manifest a persisted event or snapshot type is stored under, in place of its
/// CLR name: a journal written today stays readable after the type is renamed or moved. Never
/// change or reuse a name once released (<see cref="PersistedManifests"/> lists them all).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class PersistedAsAttribute(string manifest) : Attribute
{
    public string Manifest { get; } = manifest;
}
