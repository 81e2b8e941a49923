namespace Gateway.Core.Discovery;

/// <summary>One upstream instance of a cluster.</summary>
public sealed class Destination
{
    public Destination(string id, string address, int weight)
    {
        Id = id;
        // Stored without a trailing slash so "base + /path" never doubles it.
        BaseAddress = address.TrimEnd('/');
        Weight = weight;
    }

    public string Id { get; }

    public string BaseAddress { get; }

    public int Weight { get; }

    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>The upstream URI; the path was checked and escaped already, so Uri must not re-canonicalise it.</summary>
    public Uri BuildUri(string escapedPath, string? query) =>
        new(string.Concat(BaseAddress, escapedPath, query), Verbatim);
}
