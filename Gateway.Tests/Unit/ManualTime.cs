namespace Gateway.Tests.Unit;

/// <summary>A clock the test moves by hand, for exact window-edge sequences.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
