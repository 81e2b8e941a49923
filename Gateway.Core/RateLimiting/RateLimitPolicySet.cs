namespace Gateway.Core.RateLimiting;

/// <summary>
/// One policy as the limiter applies it: its settings, the store that decides for it, and what every request of it
/// shares (its <c>RateLimit-Policy</c> header item, the shape part of its keys), made once per configuration.
/// </summary>
internal sealed class RateLimitPolicy
{
    public RateLimitPolicy(string name, RateLimitPolicyConfig config, RateLimitStores stores)
    {
        Name = name;
        Config = config;
        Store = stores.For(config);
        HeaderItem = RateLimitHeaders.PolicyItem(name, config);
        // The algorithm and window are in the key because a store keeps a partition's state in their shape (a sorted
        // set, a counter, a hash; a window's length): a reload or a replica still on the previous file that changes
        // them starts fresh counts, never reads a sliding log as a counter (Redis would answer WRONGTYPE, and the
        // policy would fail open). A changed limit keeps the counts, so raising it mid-window admits at once.
        KeyShape = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $":{char.ToLowerInvariant(config.Algorithm.ToString()[0])}{(long)config.Window.TotalMilliseconds}");
    }

    public string Name { get; }

    public RateLimitPolicyConfig Config { get; }

    public IRateLimitStore Store { get; }

    public string HeaderItem { get; }

    public string KeyShape { get; }
}

/// <summary>The route policies and user classes of one <c>Gateway:RateLimiting</c> section, replaced whole by a reload.</summary>
internal sealed class RateLimitPolicySet
{
    public RateLimitPolicySet(RateLimitingConfig config, RateLimitStores stores)
    {
        Config = config;
        Policies = config.Policies.ToDictionary(pair => pair.Key, pair => new RateLimitPolicy(pair.Key, pair.Value, stores), StringComparer.OrdinalIgnoreCase);
        Classes = config.UserClasses.ToDictionary(pair => pair.Key,
            pair => new RateLimitPolicy("class-" + pair.Key.ToLowerInvariant(), pair.Value, stores), StringComparer.OrdinalIgnoreCase);
    }

    public RateLimitingConfig Config { get; }

    public IReadOnlyDictionary<string, RateLimitPolicy> Policies { get; }

    /// <summary>By user type (<c>anonymous</c>, <c>authenticated</c>, <c>admin</c>).</summary>
    public IReadOnlyDictionary<string, RateLimitPolicy> Classes { get; }
}
