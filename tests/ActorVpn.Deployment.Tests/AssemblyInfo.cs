using Xunit;

// Each test here runs a whole cluster of avpn processes; two at once on a small machine starve each other's
// failure detectors and TLS handshakes, so a failure would say more about the machine than the product.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
