using System.CommandLine;
using ActorVpn.Demo;
using ActorVpn.Hosting;
using ActorVpn.Topology;

namespace ActorVpn.Cli.Commands;

/// <summary><c>avpn demo</c>: the whole system on loopback in one process.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var topology = new Option<string?>("--topology") { Description = "Topology file (HOCON); default: the patent's example" };
        var mebibytes = new Option<int>("--mib") { Description = "MiB to send each way", DefaultValueFactory = _ => 8 };
        var demo = new Command("demo", "Run the topology's whole system on loopback in one process, connect the demo user through the chain to an echo destination, move data both ways and verify it") { topology, mebibytes };
        demo.SetAction(async (parse, _) =>
        {
            try
            {
                var model = ExampleTopology.LoadOrDefault(parse.GetValue(topology));
                // Progress on stderr, so stdout stays the report alone.
                var report = await DemoRunner.RunAsync(model, Math.Clamp(parse.GetValue(mebibytes), 1, 1024),
                    progress: line => Console.Error.WriteLine($"demo: {line}"));
                Console.Out.WriteLine(report.ToText());
                if (!report.Verified)
                {
                    throw new CliException("the data that came back through the chain differs from what was sent");
                }

                return 0;
            }
            catch (Exception e)
            {
                return CliRunner.Report(e);
            }
        });
        return demo;
    }
}
