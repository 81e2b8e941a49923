using Gateway.Core.Observability;

namespace Gateway.Tests.Unit;

public sealed class CorrelationIdTests
{
    [Fact]
    public void New_ids_are_32_hex_digits_and_do_not_repeat_across_threads()
    {
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 20_000, _ => ids.Add(CorrelationId.New()));

        ids.Should().OnlyContain(id => id.Length == 32 && id.All(char.IsAsciiHexDigitLower));
        ids.Distinct().Should().HaveCount(20_000);
    }
}
