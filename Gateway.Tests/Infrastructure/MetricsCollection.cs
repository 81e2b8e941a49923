using Xunit;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// Tests that read a gateway's <c>/metrics</c>. OpenTelemetry's meter providers select meters by name across the
/// whole process, so two in-process gateways alive at once would see each other's instruments; these tests run
/// alone, after the parallel ones, with one gateway at a time. (A deployed gateway is one process.)
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics";
}
