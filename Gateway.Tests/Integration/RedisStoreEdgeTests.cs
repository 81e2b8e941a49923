using FluentAssertions;
using Gateway.Core.RateLimiting;
using Gateway.Core.Routing;
using Gateway.Core.Storage;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// Each algorithm's admit/deny sequence on the Redis store itself, in real (short, bounded) time: the Lua scripts
/// read Redis' clock, so these cannot use an injected TimeProvider the way the in-memory unit tests do.
/// </summary>
public sealed class RedisStoreEdgeTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private RedisServer _redis = null!;
    private RedisConnection _connection = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _connection = new RedisConnection(Options.Create(new GatewayOptions { Redis = new RedisConfig { Configuration = _redis.Configuration, KeyPrefix = "edge:" } }));
        await _connection.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        _connection.Dispose();
        await _redis.DisposeAsync();
    }

    [Theory]
    [InlineData(RateLimitAlgorithm.SlidingWindow)]
    [InlineData(RateLimitAlgorithm.FixedWindow)]
    public async Task A_window_admits_N_refuses_the_next_and_admits_again_once_it_has_passed(RateLimitAlgorithm algorithm)
    {
        var store = new RedisRateLimitStore(_connection);
        var policy = new RateLimitPolicyConfig { Algorithm = algorithm, PermitLimit = 3, Window = TimeSpan.FromMilliseconds(800) };
        var key = $"rl:{{{algorithm}:edge}}";

        var remaining = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            var admitted = await store.DecideAsync(key, policy, CancellationToken.None);
            admitted.Allowed.Should().BeTrue();
            remaining.Add(admitted.Remaining);
        }

        remaining.Should().Equal(2, 1, 0);
        var refused = await store.DecideAsync(key, policy, CancellationToken.None);
        refused.Allowed.Should().BeFalse();
        refused.RetryAfter.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(policy.Window);

        // Refusals are not counted as admissions: as soon as the window has moved on, a request is admitted again.
        var refusedAt = DateTime.UtcNow;
        await Poll.UntilAsync(async () => (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed, Deadline, "the window to pass");
        (DateTime.UtcNow - refusedAt).Should().BeLessThan(policy.Window + TimeSpan.FromSeconds(1));
        long.Parse((await _redis.CliAsync("pttl", "edge:" + key)).Trim(), System.Globalization.CultureInfo.InvariantCulture).Should().BeInRange(1, 800);
    }

    [Fact]
    public async Task A_sliding_window_counts_the_last_window_not_the_calendar()
    {
        var store = new RedisRateLimitStore(_connection);
        var policy = new RateLimitPolicyConfig { Algorithm = RateLimitAlgorithm.SlidingWindow, PermitLimit = 2, Window = TimeSpan.FromMilliseconds(1200) };
        const string key = "rl:{sliding:edge}";
        (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeTrue();
        var first = DateTime.UtcNow;
        await Poll.UntilAsync(() => DateTime.UtcNow - first > TimeSpan.FromMilliseconds(600), Deadline, "half a window");
        (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeTrue();
        (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeFalse();

        // The first admission leaves the window 1.2 s after it was made; the second one still holds a place.
        await Poll.UntilAsync(async () => (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed, Deadline, "the first admission to age out");
        (DateTime.UtcNow - first).Should().BeGreaterThan(TimeSpan.FromMilliseconds(1100));
        (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeFalse("the second admission is still inside the window");
    }

    [Fact]
    public async Task A_token_bucket_spends_its_capacity_then_refills_one_token_at_the_rate()
    {
        var store = new RedisRateLimitStore(_connection);
        var policy = new RateLimitPolicyConfig { Algorithm = RateLimitAlgorithm.TokenBucket, PermitLimit = 4, Window = TimeSpan.FromSeconds(2) };
        const string key = "rl:{bucket:edge}";
        for (var i = 0; i < 4; i++)
        {
            (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeTrue();
        }

        var empty = await store.DecideAsync(key, policy, CancellationToken.None);
        empty.Allowed.Should().BeFalse();
        // One token every window / capacity = 500 ms.
        empty.RetryAfter.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(500));
        var emptiedAt = DateTime.UtcNow;
        await Poll.UntilAsync(async () => (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed, Deadline, "one token to refill");
        (DateTime.UtcNow - emptiedAt).Should().BeLessThan(TimeSpan.FromMilliseconds(1200));
        (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeFalse("only one token came back");
    }
}
