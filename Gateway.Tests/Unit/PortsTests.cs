using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Unit;

/// <summary>The suite's child processes bind the ports it hands them; a port an outgoing connection can take first fails CI.</summary>
public sealed class PortsTests
{
    [Fact]
    public void Ports_lie_below_the_range_given_to_outgoing_connections_and_are_not_handed_out_twice()
    {
        var ephemeralLow = OperatingSystem.IsLinux()
            ? int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture)
            : 49_152;

        var ports = Enumerable.Range(0, 200).Select(_ => Ports.Free()).ToList();

        ports.Should().OnlyHaveUniqueItems();
        if (ephemeralLow > 22_000)
        {
            ports.Should().OnlyContain(port => port >= 20_000 && port < ephemeralLow);
        }
    }
}
