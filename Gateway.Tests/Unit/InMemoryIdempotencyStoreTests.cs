namespace Gateway.Tests.Unit;

/// <summary>The in-memory idempotency store (the flow's keys, the webhook signatures' replays): a claim holds until it expires, and expired ones are swept.</summary>
public sealed class InMemoryIdempotencyStoreTests
{
    [Fact]
    public async Task A_claim_is_refused_while_remembered_and_taken_again_once_forgotten()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-11-24T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var store = new Gateway.Core.Flows.InMemoryIdempotencyStore(time);
        async Task<bool> First() => (await store.TryBeginAsync("a", string.Empty, TimeSpan.FromMinutes(10), CancellationToken.None)).State == Gateway.Core.Flows.IdempotencyState.Started;

        (await First()).Should().BeTrue();
        (await First()).Should().BeFalse();
        time.Advance(TimeSpan.FromMinutes(9));
        (await First()).Should().BeFalse();
        time.Advance(TimeSpan.FromMinutes(2));
        (await First()).Should().BeTrue();
    }

    [Fact]
    public async Task Expired_keys_are_swept()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-11-24T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var store = new Gateway.Core.Flows.InMemoryIdempotencyStore(time);
        for (var i = 0; i < 1000; i++)
        {
            await store.TryBeginAsync("old-" + i, "h", TimeSpan.FromMinutes(1), CancellationToken.None);
            await store.CompleteAsync("old-" + i, "h", new Gateway.Core.Flows.StoredResponse(200, "{}"), TimeSpan.FromMinutes(1), CancellationToken.None);
        }

        time.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 1048; i++)
        {
            (await store.TryBeginAsync("new-" + i, "h", TimeSpan.FromMinutes(1), CancellationToken.None)).State.Should().Be(Gateway.Core.Flows.IdempotencyState.Started);
        }

        store.Count.Should().BeLessThan(1100, "the expired thousand were swept");
    }
}
