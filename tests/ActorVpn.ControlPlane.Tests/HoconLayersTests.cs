using ActorVpn.AuthServers.Hosting;
using ActorVpn.Cli.Commands;
using ActorVpn.Hosting;
using ActorVpn.OperatorConsole;
using Akka.Configuration;
using Xunit;

namespace ActorVpn.ControlPlane.Tests;

/// <summary>Configuration layers (style.md): file defaults, then environment, then explicit overrides.</summary>
public sealed class HoconLayersTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void File_defaults_apply_when_nothing_overrides_them()
    {
        var config = HoconLayers.Load([HoconLayers.PersistenceInMemory], environment: Environment());
        var settings = AuthServerSettings.FromConfig(config);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.HoldTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.HandOffTimeout);
        Assert.Equal("akka.persistence.journal.inmem", config.GetString("akka.persistence.journal.plugin"));
    }

    [Fact]
    public void Environment_override_wins_over_the_file_default()
    {
        var config = HoconLayers.Load([HoconLayers.PersistenceInMemory],
            environment: Environment(("AVPN_HOLD_TIMEOUT", "7s"), ("AVPN_HANDOFF_TIMEOUT", "1500ms"), ("AVPN_LOG_LEVEL", "ERROR")));
        var settings = AuthServerSettings.FromConfig(config);
        Assert.Equal(TimeSpan.FromSeconds(7), settings.HoldTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), settings.HandOffTimeout);
        Assert.Equal("ERROR", config.GetString("akka.loglevel"));
        Assert.Equal(TimeSpan.FromSeconds(10), settings.ChallengeTimeout); // untouched keys keep their defaults
    }

    [Fact]
    public void Explicit_overrides_win_over_the_environment()
    {
        var config = HoconLayers.Load([HoconLayers.PersistenceInMemory],
            overrides: ConfigurationFactory.ParseString("actorvpn.auth-server.hold-timeout = 300ms"),
            environment: Environment(("AVPN_HOLD_TIMEOUT", "7s")));
        Assert.Equal(TimeSpan.FromMilliseconds(300), AuthServerSettings.FromConfig(config).HoldTimeout);
    }

    [Fact]
    public void Operator_file_sits_between_the_defaults_and_the_environment()
    {
        var file = Path.Combine(Path.GetTempPath(), $"avpn-operator-{Guid.NewGuid():N}.hocon");
        File.WriteAllText(file, "actorvpn.auth-server { hold-timeout = 12s, handoff-timeout = 3s }");
        try
        {
            var config = HoconLayers.Load([HoconLayers.PersistenceInMemory], operatorFile: file, environment: Environment(("AVPN_HANDOFF_TIMEOUT", "2s")));
            var settings = AuthServerSettings.FromConfig(config);
            Assert.Equal(TimeSpan.FromSeconds(12), settings.HoldTimeout);
            Assert.Equal(TimeSpan.FromSeconds(2), settings.HandOffTimeout);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Non_positive_timeout_fails_fast_naming_the_key()
    {
        var config = HoconLayers.Load([HoconLayers.PersistenceInMemory], environment: Environment(("AVPN_HOLD_TIMEOUT", "0s")));
        var error = Assert.Throws<ConfigurationException>(() => AuthServerSettings.FromConfig(config));
        Assert.Contains("actorvpn.auth-server.hold-timeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_environment_variable_maps_to_a_key_the_layers_define()
    {
        // every concern layer (cluster and remote define the keys a cluster node's variables set)
        var concerns = HoconLayers.Available.Where(l => l != HoconLayers.Base && l != HoconLayers.Akka);
        var config = HoconLayers.Load(concerns, environment: Environment());
        Assert.All(EnvironmentOverrides.Keys.Concat(EnvironmentOverrides.ListKeys), kv =>
        {
            Assert.StartsWith("AVPN_", kv.Key, StringComparison.Ordinal);
            Assert.True(config.HasPath(kv.Value), $"{kv.Key} overrides {kv.Value}, which no layer defines");
        });
    }

    [Fact]
    public void Console_endpoint_and_data_directory_come_from_the_environment_below_the_command_line()
    {
        // hocon/console.hocon alone: loopback and ./data
        var defaults = HoconLayers.Load([ConsoleHost.Layer], environment: Environment());
        Assert.Equal(("127.0.0.1:9110", "./data"), NodeCommand.ConsoleSettings(defaults, console: null, data: null));

        // what a pod sets (k8s/base): the environment wins over the file...
        var pod = HoconLayers.Load([ConsoleHost.Layer],
            environment: Environment(("AVPN_CONSOLE_ENDPOINT", "0.0.0.0:9111"), ("AVPN_CONSOLE_DATA_DIRECTORY", "/var/lib/actorvpn")));
        Assert.Equal("0.0.0.0:9111", pod.GetString("actorvpn.console.endpoint"));
        Assert.Equal("/var/lib/actorvpn", pod.GetString("actorvpn.console.data-directory"));
        Assert.Equal(("0.0.0.0:9111", "/var/lib/actorvpn"), NodeCommand.ConsoleSettings(pod, console: null, data: null));
        Assert.Equal("actorvpn.console.endpoint", EnvironmentOverrides.Keys["AVPN_CONSOLE_ENDPOINT"]);
        Assert.Equal("actorvpn.console.data-directory", EnvironmentOverrides.Keys["AVPN_CONSOLE_DATA_DIRECTORY"]);

        // ...over an operator file too, and `avpn node --console/--data` over the environment
        var file = Path.Combine(Path.GetTempPath(), $"avpn-operator-{Guid.NewGuid():N}.hocon");
        File.WriteAllText(file, "actorvpn.console { endpoint = \"127.0.0.1:9200\", data-directory = \"/srv/file\" }");
        try
        {
            var layered = HoconLayers.Load([ConsoleHost.Layer], operatorFile: file, environment: Environment(("AVPN_CONSOLE_DATA_DIRECTORY", "/var/lib/actorvpn")));
            Assert.Equal(("127.0.0.1:9200", "/var/lib/actorvpn"), NodeCommand.ConsoleSettings(layered, console: null, data: null));
        }
        finally
        {
            File.Delete(file);
        }

        Assert.Equal(("off", "/tmp/cli"), NodeCommand.ConsoleSettings(pod, console: "off", data: "/tmp/cli"));

        // "off" through the environment, as `avpn node` reads it (a pod that wants no console)
        var off = HoconLayers.Load([ConsoleHost.Layer], environment: Environment(("AVPN_CONSOLE_ENDPOINT", "off")));
        Assert.Equal("off", NodeCommand.ConsoleSettings(off, console: null, data: null).Endpoint);
    }
}
