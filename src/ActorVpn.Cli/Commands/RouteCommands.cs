using System.CommandLine;
using ActorVpn.Hosting;
using ActorVpn.Topology;

namespace ActorVpn.Cli.Commands;

/// <summary><c>avpn route trace</c>.</summary>
public static class RouteCommands
{
    public static Command Create()
    {
        var topology = new Option<string?>("--topology") { Description = "Topology file (HOCON); default: the patent's example" };
        var user = new Option<string>("--user") { Description = "User whose certificate is handed off", Required = true };
        var to = new Option<string>("--to") { Description = "Destination name from the topology", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the outcome as JSON" };
        var trace = new Command("trace", "Run the real certificate hand-off for a user and destination and print the route, the hand-off path and the holders")
        {
            topology, user, to, json,
        };
        trace.SetAction(async (parse, _) =>
        {
            try
            {
                var model = ExampleTopology.LoadOrDefault(parse.GetValue(topology));
                var result = await RouteTracer.TraceAsync(model, parse.GetValue(user)!, parse.GetValue(to)!);
                Console.Out.Write(parse.GetValue(json) ? result.ToJson() + Environment.NewLine : result.ToText());
                if (!result.Ok && !parse.GetValue(json))
                {
                    Console.Error.WriteLine($"avpn: route trace failed: {result.Error}");
                }

                return result.Ok ? 0 : CliRunner.Failed;
            }
            catch (Exception e)
            {
                return CliRunner.Report(e);
            }
        });

        return new Command("route", "Inspect the relay route of the certificate hand-off") { trace };
    }
}
