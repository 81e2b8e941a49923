using Gateway.Core.Forwarding;

namespace Gateway.Tests.Unit;

public sealed class RetryBudgetTests
{
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Retries_may_add_the_ratio_of_the_windows_requests()
    {
        var budget = new RetryBudget(new RetryBudgetConfig { Ratio = 0.2, MinRetriesPerSecond = 0 }, _time);
        budget.TryRetry().Should().BeFalse("no request yet, no share of one");
        for (var i = 0; i < 10; i++)
        {
            budget.Request();
        }

        budget.TryRetry().Should().BeTrue();
        budget.TryRetry().Should().BeTrue();
        budget.TryRetry().Should().BeFalse("two retries are a fifth of ten requests");
    }

    [Fact]
    public void A_quiet_cluster_keeps_its_retries_per_second_over_the_window()
    {
        var budget = new RetryBudget(new RetryBudgetConfig { Ratio = 0, MinRetriesPerSecond = 2, Window = TimeSpan.FromSeconds(3) }, _time);

        Enumerable.Range(0, 7).Select(_ => budget.TryRetry()).Should().Equal(true, true, true, true, true, true, false);
    }

    [Fact]
    public void Counts_older_than_the_window_no_longer_count()
    {
        var budget = new RetryBudget(new RetryBudgetConfig { Ratio = 0.5, MinRetriesPerSecond = 0, Window = TimeSpan.FromSeconds(10) }, _time);
        budget.Request();
        budget.Request();
        budget.TryRetry().Should().BeTrue();
        budget.TryRetry().Should().BeFalse();

        _time.Advance(TimeSpan.FromSeconds(9));
        budget.TryRetry().Should().BeFalse("the retry nine seconds ago is still in the window, as are its requests");
        budget.Request();
        budget.Request();
        budget.TryRetry().Should().BeTrue("four requests in the window allow two retries");

        _time.Advance(TimeSpan.FromSeconds(1));
        budget.TryRetry().Should().BeFalse("the first second left the window: two requests, one retry");
        _time.Advance(TimeSpan.FromSeconds(10));
        budget.TryRetry().Should().BeFalse("an empty window allows none at a ratio alone");
        budget.Request();
        budget.Request();
        budget.TryRetry().Should().BeTrue();
    }
}

public sealed class RetryBudgetValidationTests
{
    [Theory]
    [InlineData("Ratio", "-0.1")]
    [InlineData("Ratio", "11")]
    [InlineData("MinRetriesPerSecond", "-1")]
    [InlineData("Window", "00:00:00.500")]
    [InlineData("Window", "00:10:00")]
    public void A_bad_budget_is_named_by_its_key(string key, string value) =>
        ConfigValidationTests.Errors(ConfigValidationTests.Valid().Set($"Gateway:Clusters:quote-service:RetryBudget:{key}", value))
            .Should().ContainSingle(e => e.StartsWith($"Gateway:Clusters:quote-service:RetryBudget:{key}:", StringComparison.Ordinal));

    [Fact]
    public void A_switched_off_budget_is_not_checked() =>
        ConfigValidationTests.Errors(ConfigValidationTests.Valid()
            .Set("Gateway:Clusters:quote-service:RetryBudget:Enabled", false)
            .Set("Gateway:Clusters:quote-service:RetryBudget:Ratio", "-1")).Should().BeEmpty();
}
