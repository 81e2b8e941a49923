using Gateway.Core.Storage;

namespace Gateway.Tests.Unit;

/// <summary>The in-memory replay guard: a value is refused while remembered, taken again after, and forgotten for good.</summary>
public sealed class ReplayGuardTests
{
    [Fact]
    public async Task A_value_is_refused_while_remembered_and_taken_again_once_forgotten()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-11-24T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var guard = new InMemoryReplayGuard(time);

        (await guard.TryMarkAsync("a", TimeSpan.FromMinutes(10))).Should().BeTrue();
        (await guard.TryMarkAsync("a", TimeSpan.FromMinutes(10))).Should().BeFalse();
        time.Advance(TimeSpan.FromMinutes(9));
        (await guard.TryMarkAsync("a", TimeSpan.FromMinutes(10))).Should().BeFalse();
        time.Advance(TimeSpan.FromMinutes(2));
        (await guard.TryMarkAsync("a", TimeSpan.FromMinutes(10))).Should().BeTrue();
    }

    [Fact]
    public async Task Values_that_never_come_back_are_swept_once_expired()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-11-24T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var guard = new InMemoryReplayGuard(time);
        for (var i = 0; i < 1000; i++)
        {
            await guard.TryMarkAsync("old-" + i, TimeSpan.FromMinutes(1));
        }

        time.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 1048; i++)
        {
            await guard.TryMarkAsync("new-" + i, TimeSpan.FromMinutes(1));
        }

        guard.Count.Should().BeLessThan(1100, "the expired thousand were swept");
    }
}

/// <summary>The flow's in-memory idempotency store forgets expired keys that never come back.</summary>
public sealed class InMemoryIdempotencyStoreTests
{
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
