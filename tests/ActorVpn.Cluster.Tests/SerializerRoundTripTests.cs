using System.Collections;
using System.Reflection;
using System.Text.Json;
using ActorVpn.Messaging;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Xunit;

namespace ActorVpn.Cluster.Tests;

/// <summary>
/// Every message that may cross a node boundary (every <see cref="IActorVpnMessage"/>, found by
/// reflection) goes through the ActorVpnSerializer and comes back the same: hand-off calls between
/// nodes depend on it.
/// </summary>
public sealed class SerializerRoundTripTests : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ActorSystem _system = ActorSystem.Create("serialization", ConfigurationFactory.ParseString(ActorVpn.Hosting.HoconLayers.Text(ActorVpn.Hosting.HoconLayers.Akka)));

    public static TheoryData<string> MessageTypes()
    {
        var data = new TheoryData<string>();
        foreach (var type in AllMessageTypes())
        {
            data.Add(type.AssemblyQualifiedName!);
        }

        return data;
    }

    [Fact]
    public void Message_types_are_found_in_every_protocol_assembly()
    {
        var assemblies = AllMessageTypes().Select(t => t.Assembly.GetName().Name).Distinct().ToList();
        Assert.Contains("ActorVpn.AuthServers", assemblies);
        Assert.Contains("ActorVpn.Protocol", assemblies);
        Assert.Contains("ActorVpn.Proxies", assemblies);
    }

    [Theory]
    [MemberData(nameof(MessageTypes))]
    public void Message_round_trips_through_the_ActorVpn_serializer(string typeName)
    {
        var type = Type.GetType(typeName, throwOnError: true)!;
        var message = Sample(type, depth: 0)!;
        var serializer = _system.Serialization.FindSerializerFor(message);
        Assert.IsType<ActorVpnSerializer>(serializer);

        var bytes = serializer.ToBinary(message);
        var manifest = Serialization.ManifestFor(serializer, message);
        var back = _system.Serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.IsType(type, back);
        Assert.Equal(JsonSerializer.Serialize(message, type, Json), JsonSerializer.Serialize(back, type, Json));
    }

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    private static IEnumerable<Type> AllMessageTypes()
    {
        // Load every ActorVpn assembly next to the tests, so no protocol is missed.
        foreach (var file in Directory.GetFiles(AppContext.BaseDirectory, "ActorVpn.*.dll"))
        {
            var name = AssemblyName.GetAssemblyName(file);
            if (!AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == name.Name))
            {
                Assembly.Load(name);
            }
        }

        return AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => a.GetName().Name?.StartsWith("ActorVpn.", StringComparison.Ordinal) == true && !a.GetName().Name!.EndsWith(".Tests", StringComparison.Ordinal))
            .SelectMany(a => a.GetTypes())
            .Where(t => typeof(IActorVpnMessage).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface && !t.ContainsGenericParameters)
            .OrderBy(t => t.FullName, StringComparer.Ordinal);
    }

    /// <summary>A value of <paramref name="type"/> with every field set (records through their widest constructor).</summary>
    private static object? Sample(Type type, int depth)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Sample(underlying, depth);
        }

        if (type == typeof(string))
        {
            return "sample";
        }

        if (type == typeof(byte[]))
        {
            return new byte[] { 1, 2, 3 };
        }

        if (type == typeof(bool))
        {
            return true;
        }

        if (type.IsEnum)
        {
            var values = Enum.GetValues(type);
            return values.Length > 1 ? values.GetValue(1) : values.GetValue(0);
        }

        if (type == typeof(TimeSpan))
        {
            return TimeSpan.FromSeconds(5);
        }

        if (type == typeof(DateTimeOffset))
        {
            return new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
        }

        if (type == typeof(DateTime))
        {
            return new DateTime(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc);
        }

        if (type == typeof(Guid))
        {
            return Guid.Parse("9f1c7a56-3d1e-4c53-9d0b-1b2a3c4d5e6f");
        }

        if (type.IsPrimitive || type == typeof(decimal))
        {
            return Convert.ChangeType(7, type, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (depth > 6)
        {
            return null;
        }

        if (type.IsArray)
        {
            var array = Array.CreateInstance(type.GetElementType()!, 1);
            array.SetValue(Sample(type.GetElementType()!, depth + 1), 0);
            return array;
        }

        if (type.IsGenericType && type.GetGenericArguments() is { Length: 2 } kv && typeof(IEnumerable).IsAssignableFrom(type))
        {
            var dictionary = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(kv))!;
            dictionary.Add(Sample(kv[0], depth + 1)!, Sample(kv[1], depth + 1));
            return AsCollection(dictionary, type);
        }

        if (type.IsGenericType && type.GetGenericArguments() is { Length: 1 } element && typeof(IEnumerable).IsAssignableFrom(type))
        {
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
            list.Add(Sample(element[0], depth + 1));
            return AsCollection(list, type);
        }

        if (type.IsAbstract)
        {
            var concrete = type.Assembly.GetTypes().FirstOrDefault(t => type.IsAssignableFrom(t) && !t.IsAbstract && !t.ContainsGenericParameters);
            return concrete is null ? null : Sample(concrete, depth + 1);
        }

        if (type.GetField("Instance", BindingFlags.Public | BindingFlags.Static) is { } singleton && singleton.FieldType == type)
        {
            return singleton.GetValue(null);
        }

        var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault();
        if (constructor is null)
        {
            return Activator.CreateInstance(type);
        }

        return constructor.Invoke(constructor.GetParameters().Select(p => Sample(p.ParameterType, depth + 1)).ToArray());
    }

    /// <summary>The sample collection as the declared type (e.g. an immutable set), converted through JSON when it is not assignable.</summary>
    private static object AsCollection(object sample, Type declared) =>
        declared.IsInstanceOfType(sample)
            ? sample
            : System.Text.Json.JsonSerializer.Deserialize(System.Text.Json.JsonSerializer.Serialize(sample), declared)!;
}
