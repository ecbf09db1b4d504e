using Xunit;

namespace ActorVpn.Wire.Tests;

/// <summary>
/// Tests that need a TLS session to resume run alone (the assemblies that have such tests link this file): any test running
/// beside them adds its certificates to .NET's process-wide cache of TLS credentials, whose sweeps drop the resumable
/// sessions stored with them.
/// </summary>
[CollectionDefinition(nameof(TlsSessionCacheCollection), DisableParallelization = true)]
public sealed class TlsSessionCacheCollection;
