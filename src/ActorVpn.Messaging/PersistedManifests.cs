using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Serialization;

namespace ActorVpn.Messaging;

/// <summary>
/// The table of short manifests (<see cref="PersistedAsAttribute"/>) of every persisted
/// <see cref="IActorVpnMessage"/> type in the loaded assemblies. A short manifest never contains a
/// comma, so it cannot be mistaken for the CLR name (<c>Type, Assembly</c>) that stores written
/// before it still hold and that <see cref="ActorVpnSerializer"/> still reads.
/// </summary>
public static class PersistedManifests
{
    private static readonly ConcurrentDictionary<Type, string?> ByType = new();
    private static readonly object Scanning = new();
    private static Dictionary<string, Type> _byManifest = new(StringComparer.Ordinal);
    private static int _scannedAssemblies = -1;

    /// <summary>The short manifest of <paramref name="type"/>, or null when it has none (it is not persisted).</summary>
    public static string? Of(Type type) => ByType.GetOrAdd(type, static t =>
    {
        var manifest = t.GetCustomAttribute<PersistedAsAttribute>()?.Manifest;
        return manifest is null || IsShort(manifest)
            ? manifest
            : throw new SerializationException($"{t.Name}: '{manifest}' is not a short manifest (letters, digits, '-' and '.')");
    });

    /// <summary>The type stored under a short manifest, or null.</summary>
    public static Type? TypeOf(string manifest)
    {
        if (!IsShort(manifest))
        {
            return null;
        }

        if (_byManifest.TryGetValue(manifest, out var type))
        {
            return type;
        }

        Scan(); // an assembly loaded since the last look may hold it
        return _byManifest.GetValueOrDefault(manifest);
    }

    /// <summary>Every short manifest of the loaded ActorVpn assemblies and its type.</summary>
    /// <exception cref="SerializationException">Two types claim the same manifest.</exception>
    public static IReadOnlyDictionary<string, Type> All()
    {
        Scan();
        return _byManifest;
    }

    private static bool IsShort(string manifest) =>
        manifest.Length is > 0 and <= 64 && manifest.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');

    private static void Scan()
    {
        lock (Scanning)
        {
            var assemblies = AppDomain.CurrentDomain.GetAssemblies();
            if (assemblies.Length == _scannedAssemblies)
            {
                return;
            }

            var table = new Dictionary<string, Type>(StringComparer.Ordinal);
            var marker = typeof(IActorVpnMessage);
            foreach (var assembly in assemblies.Where(a => a == marker.Assembly || a.GetReferencedAssemblies().Any(r => r.Name == marker.Assembly.GetName().Name)))
            {
                foreach (var type in assembly.GetTypes().Where(t => marker.IsAssignableFrom(t) && !t.IsAbstract))
                {
                    if (Of(type) is not { } manifest)
                    {
                        continue;
                    }

                    if (table.TryGetValue(manifest, out var other) && other != type)
                    {
                        throw new SerializationException($"the persisted manifest '{manifest}' is claimed by both {other.FullName} and {type.FullName}");
                    }

                    table[manifest] = type;
                }
            }

            _byManifest = table;
            _scannedAssemblies = assemblies.Length;
        }
    }
}
