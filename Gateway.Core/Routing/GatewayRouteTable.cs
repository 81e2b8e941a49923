using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Gateway.Core.Routing;

/// <summary>
/// The gateway routes' endpoints, as a data source of their own so a configuration reload can replace them whole, as
/// YARP replaces its routes. Each route is still a route group with one forwarding endpoint, mapped onto a builder of
/// this table instead of onto the app; endpoint routing rebuilds its matcher when the table's change token fires. A
/// request already matched keeps the endpoint, and so the route settings, it was matched with.
/// </summary>
public sealed class GatewayRouteTable(
    IOptions<GatewayOptions> options, IEnumerable<IValidateOptions<GatewayOptions>> validators)
    : EndpointDataSource
{
    private readonly Lock _replacing = new();
    private IEndpointRouteBuilder? _host;
    private volatile Table _table = new([], new Dictionary<string, RouteConfig>(), new CancellationTokenSource());

    private sealed record Table(IReadOnlyList<Endpoint> Endpoints, IReadOnlyDictionary<string, RouteConfig> Routes, CancellationTokenSource Changed);

    /// <summary>The routes the endpoints were built from, by id.</summary>
    public IReadOnlyDictionary<string, RouteConfig> Routes => _table.Routes;

    public override IReadOnlyList<Endpoint> Endpoints => _table.Endpoints;

    public override IChangeToken GetChangeToken() => new CancellationChangeToken(_table.Changed.Token);

    /// <summary>Builds the routes the gateway starts with onto the host's services.</summary>
    internal void Attach(IEndpointRouteBuilder host)
    {
        _host = host;
        _table = Build(options.Value.Routes, _table.Changed);
    }

    /// <summary>
    /// Replaces every route with the candidate's, or none of them: the table runs as one file wrote it, never half of
    /// one edit. The candidate must pass the start-up validators, so a route naming a cluster or a policy the gateway
    /// lacks is refused as a start would refuse it, and need no middleware the pipeline was built without.
    /// </summary>
    /// <param name="candidate">The configuration the gateway runs with the file's routes (and the policies they name) in it.</param>
    /// <returns>Why the routes were kept as they were; empty when they were replaced.</returns>
    public IReadOnlyList<string> TryReplace(GatewayOptions candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (_host is null)
        {
            return ["the gateway has not mapped its routes"];
        }

        string[] held =
        [
            .. validators.Select(validator => validator.Validate(Options.DefaultName, candidate))
                .Where(result => result.Failed)
                .SelectMany(result => result.Failures ?? [])
                .Select(failure => failure + " (checked against the configuration the gateway runs)"),
            .. RouteBranches.Missing(options.Value, candidate.Routes),
        ];
        if (held.Length > 0)
        {
            return held;
        }

        Swap(candidate.Routes);
        return [];
    }

    /// <summary>
    /// Builds the same routes into new endpoints. The framework caches per endpoint what it derives from one (the
    /// combined authorization policy) until the endpoints change; this is how a reloaded role policy reaches routes
    /// that did not change.
    /// </summary>
    public void Rebuild()
    {
        if (_host is not null)
        {
            Swap(routes: null);
        }
    }

    /// <param name="routes">The routes of the new table; null to build the running ones again.</param>
    private void Swap(IReadOnlyDictionary<string, RouteConfig>? routes)
    {
        lock (_replacing)
        {
            var previous = _table;
            _table = Build(routes ?? previous.Routes, new CancellationTokenSource());
            // After the swap: routing's callback reads the new endpoints and subscribes to the new token.
            previous.Changed.Cancel();
        }
    }

    private Table Build(IReadOnlyDictionary<string, RouteConfig> routes, CancellationTokenSource changed)
    {
        var builder = new TableBuilder(_host!);
        GatewayEndpointRouteBuilderExtensions.MapRoutes(builder, routes, options.Value.Limits);
        return new([.. builder.DataSources.SelectMany(source => source.Endpoints)], routes, changed);
    }

    /// <summary>The host's services and application builder, with data sources of the table's own.</summary>
    private sealed class TableBuilder(IEndpointRouteBuilder host) : IEndpointRouteBuilder
    {
        public IServiceProvider ServiceProvider => host.ServiceProvider;

        public ICollection<EndpointDataSource> DataSources { get; } = [];

        public IApplicationBuilder CreateApplicationBuilder() => host.CreateApplicationBuilder();
    }
}
