using System.Collections.Concurrent;
using System.Reflection;

namespace ActorVpn.Messaging;

/// <summary>
/// Where the message types of a class (it and its nested types) were first defined: their manifest on the wire stays the
/// CLR name they had there, so nodes of the release before the move and after it still understand each other during a
/// rolling restart. Put on the moved class, never removed.
/// </summary>
/// <param name="Namespace">The namespace the class was defined in, e.g. <c>ActorVpn.AuthServers.HandOff</c>.</param>
/// <param name="Assembly">The assembly it was defined in, e.g. <c>ActorVpn.AuthServers</c>.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class WireNameAttribute(string @namespace, string assembly) : Attribute
{
    public string Namespace { get; } = @namespace;

    public string Assembly { get; } = assembly;

    private static readonly ConcurrentDictionary<Type, string?> ByType = new();
    private static readonly ConcurrentDictionary<string, Type> ByName = new(StringComparer.Ordinal);

    /// <summary>The manifest <paramref name="type"/> kept from where it was first defined, or null when it never moved.</summary>
    public static string? Of(Type type) => ByType.GetOrAdd(type, static t =>
    {
        var outer = t;
        while (outer.DeclaringType is not null && outer.GetCustomAttribute<WireNameAttribute>() is null)
        {
            outer = outer.DeclaringType;
        }

        return outer.GetCustomAttribute<WireNameAttribute>() is { } moved && t.FullName is { } name && t.Namespace is { } current
            ? $"{moved.Namespace}{name[current.Length..]}, {moved.Assembly}"
            : null;
    });

    /// <summary>The type a kept manifest names, among the loaded assemblies that reference the messaging marker; or null.</summary>
    public static Type? TypeOf(string manifest)
    {
        if (ByName.TryGetValue(manifest, out var known))
        {
            return known;
        }

        // Not remembered when not found: an assembly loaded later may hold it.
        var marker = typeof(IActorVpnMessage);
        var type = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => a.GetReferencedAssemblies().Any(r => r.Name == marker.Assembly.GetName().Name))
            .SelectMany(a => a.GetTypes())
            .FirstOrDefault(t => marker.IsAssignableFrom(t) && !t.IsAbstract && Of(t) == manifest);
        return type is null ? null : ByName.GetOrAdd(manifest, type);
    }
}
