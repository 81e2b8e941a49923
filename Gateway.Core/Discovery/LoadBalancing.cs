namespace Gateway.Core.Discovery;

/// <summary>Chooses one instance among a cluster's selectable ones.</summary>
public interface ILoadBalancer
{
    /// <summary>Picks from <paramref name="candidates"/>, avoiding <paramref name="exclude"/> when another is available.</summary>
    ServiceInstance? Pick(ServiceInstance[] candidates, IReadOnlyCollection<ServiceInstance>? exclude);
}

/// <summary>
/// nginx's smooth weighted round-robin: each pick adds every eligible instance's weight to its current weight,
/// takes the largest, and subtracts the total from it. Weights 3:1 give A A B A, A A B A …: exact and interleaved.
/// </summary>
public sealed class SmoothWeightedRoundRobin : ILoadBalancer
{
    private readonly Lock _lock = new();

    public ServiceInstance? Pick(ServiceInstance[] candidates, IReadOnlyCollection<ServiceInstance>? exclude)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        lock (_lock)
        {
            return PickLocked(candidates, exclude) ?? (exclude is { Count: > 0 } ? PickLocked(candidates, null) : null);
        }
    }

    private static ServiceInstance? PickLocked(ServiceInstance[] candidates, IReadOnlyCollection<ServiceInstance>? exclude)
    {
        ServiceInstance? best = null;
        long total = 0;
        foreach (var instance in candidates)
        {
            if (!instance.IsSelectable || (exclude is not null && exclude.Contains(instance)))
            {
                continue;
            }

            instance.CurrentWeight += instance.Weight;
            total += instance.Weight;
            if (best is null || instance.CurrentWeight > best.CurrentWeight)
            {
                best = instance;
            }
        }

        if (best is not null)
        {
            best.CurrentWeight -= total;
        }

        return best;
    }
}

/// <summary>Power of two choices: of two random selectable instances, the one with fewer requests in flight, then the faster.</summary>
public sealed class PowerOfTwoChoices : ILoadBalancer
{
    public ServiceInstance? Pick(ServiceInstance[] candidates, IReadOnlyCollection<ServiceInstance>? exclude)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var eligible = candidates.Where(i => i.IsSelectable && (exclude is null || !exclude.Contains(i))).ToArray();
        if (eligible.Length == 0 && exclude is { Count: > 0 })
        {
            eligible = candidates.Where(i => i.IsSelectable).ToArray();
        }

        switch (eligible.Length)
        {
            case 0:
                return null;
            case 1:
                return eligible[0];
        }

        var first = Random.Shared.Next(eligible.Length);
        var second = Random.Shared.Next(eligible.Length - 1);
        if (second >= first)
        {
            second++;
        }

        return IsBetter(eligible[first], eligible[second]) ? eligible[first] : eligible[second];
    }

    // Fewer requests in flight wins; latency only breaks ties. A product of the two let one slow first request
    // (a cold connection) outweigh a request stuck in flight on an instance with no latency figure yet.
    private static bool IsBetter(ServiceInstance a, ServiceInstance b) =>
        a.InFlight != b.InFlight ? a.InFlight < b.InFlight : a.EwmaMilliseconds <= b.EwmaMilliseconds;
}
