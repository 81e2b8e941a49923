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
        var policy = new RateLimitPolicyConfig { Algorithm = algorithm, PermitLimit = 3, Window = TimeSpan.FromSeconds(3) };
        var key = $"rl:{{{algorithm}:edge}}";
        await WarmUpAsync(store, policy);

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
        // The bound tells a window that ends from one that is extended (by a refusal, say) to twice its length.
        var refusedAt = DateTime.UtcNow;
        await Poll.UntilAsync(async () => (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed, Deadline, "the window to pass");
        (DateTime.UtcNow - refusedAt).Should().BeLessThan(policy.Window * 1.5);
        long.Parse((await _redis.CliAsync("pttl", "edge:" + key)).Trim(), System.Globalization.CultureInfo.InvariantCulture)
            .Should().BeInRange(1, (long)policy.Window.TotalMilliseconds);
    }

    [Fact]
    public async Task A_sliding_window_counts_the_last_window_not_the_calendar()
    {
        var store = new RedisRateLimitStore(_connection);
        var policy = new RateLimitPolicyConfig { Algorithm = RateLimitAlgorithm.SlidingWindow, PermitLimit = 2, Window = TimeSpan.FromSeconds(3) };
        const string key = "rl:{sliding:edge}";
        await WarmUpAsync(store, policy);

        // Taken before the call, so Redis stamps the admission no earlier than this, however the test is scheduled.
        var first = DateTime.UtcNow;
        (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeTrue();
        await Poll.UntilAsync(() => DateTime.UtcNow - first > policy.Window / 2, Deadline, "half a window");
        (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeTrue();
        (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeFalse();

        // The first admission leaves the window 3 s after it was made; the second one still holds a place.
        await Poll.UntilAsync(async () => (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed, Deadline, "the first admission to age out");
        (DateTime.UtcNow - first).Should().BeGreaterThanOrEqualTo(policy.Window - TimeSpan.FromMilliseconds(20), "the script stamps in whole milliseconds");
        (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeFalse("the second admission is still inside the window");
    }

    [Fact]
    public async Task A_token_bucket_spends_its_capacity_then_refills_one_token_at_the_rate()
    {
        var store = new RedisRateLimitStore(_connection);
        // One token every window / capacity = 2 s; empty to full in 8 s.
        var policy = new RateLimitPolicyConfig { Algorithm = RateLimitAlgorithm.TokenBucket, PermitLimit = 4, Window = TimeSpan.FromSeconds(8) };
        var perToken = policy.Window / policy.PermitLimit;
        const string key = "rl:{bucket:edge}";
        await WarmUpAsync(store, policy);
        for (var i = 0; i < 4; i++)
        {
            (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeTrue();
        }

        var emptiedAt = DateTime.UtcNow;
        var empty = await store.DecideAsync(key, policy, CancellationToken.None);
        empty.Allowed.Should().BeFalse();
        empty.RetryAfter.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(perToken);
        await Poll.UntilAsync(async () => (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed, Deadline, "one token to refill");
        // Well short of the 8 s a bucket that refilled only once a whole window had passed would take.
        (DateTime.UtcNow - emptiedAt).Should().BeLessThan(perToken * 2);
        (await store.DecideAsync(key, policy, CancellationToken.None)).Allowed.Should().BeFalse("only one token came back");
    }

    // The first call of a script loads it into Redis and JIT-compiles the client's path; on a busy machine that took
    // long enough to let a short window run out mid-test. A key of its own keeps the measured key untouched.
    private static Task WarmUpAsync(RedisRateLimitStore store, RateLimitPolicyConfig policy) =>
        store.DecideAsync($"rl:{{{policy.Algorithm}:warm-up}}", policy, CancellationToken.None).AsTask();
}
