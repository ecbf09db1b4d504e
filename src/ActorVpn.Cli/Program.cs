using System.CommandLine;
using ActorVpn.Cli;
using ActorVpn.Cli.Commands;
using ActorVpn.Observability.Tracing;

// avpn: one executable for every role.
var root = new RootCommand("ActorVpn: a VPN whose client reaches a server through a chain of proxies, each owned by an " +
    "authentication server; the client's certificate is handed from auth server to auth server (JP H11-328117 A).");
root.Options.Add(CliRunner.VerboseOption);
root.Subcommands.Add(RouteCommands.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(RunCommands.Up());
root.Subcommands.Add(RunCommands.Connect());
root.Subcommands.Add(NodeCommand.Create());
root.Subcommands.Add(ConsoleCommand.Create());
root.Subcommands.Add(ConsoleCommand.User());
// Spans go to OTLP (OTEL_EXPORTER_OTLP_ENDPOINT) and/or stderr (AVPN_TRACES=console); flushed when the command ends.
using var traces = TraceExport.Start("avpn");
return await CliRunner.RunAsync(root, args);
