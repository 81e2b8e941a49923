using FluentValidation;
using Gateway.Core.Caching;
using Gateway.Core.Discovery;
using Gateway.Core.Routing;
using Gateway.Core.Routing.Validation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace Gateway.Api.Admin;

/// <summary>The registry's admin API. Loopback only until the auth issue puts it behind the AdminOnly policy.</summary>
public static class AdminEndpoints
{
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.MapGroup(Gateway.Core.Routing.GatewayPaths.Admin);
        var policy = endpoints.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<Gateway.Core.Routing.GatewayOptions>>().Value.Admin.Authorization;
        _ = string.IsNullOrEmpty(policy) ? admin.AddEndpointFilter<LoopbackOnlyFilter>() : admin.RequireAuthorization(policy);
        admin.MapGet("/services", ListServices);
        admin.MapPost("/services/{service}/instances", RegisterInstance);
        admin.MapDelete("/services/{service}/instances/{id}", RemoveInstance);
        // POST starts it, DELETE undoes it.
        admin.MapMethods("/services/{service}/instances/{id}/drain", [HttpMethods.Post, HttpMethods.Delete], DrainAsync);
        admin.MapGet("/circuit-breakers", ListBreakers);
        admin.MapMethods("/circuit-breakers/{service}/isolate", [HttpMethods.Post, HttpMethods.Delete], IsolateAsync);
        admin.MapDelete("/cache/{route}", PurgeCache);
        admin.MapGet("/configuration", (ConfigurationStatus status) => TypedResults.Ok(status.Current));
        admin.MapGet("/routes", RouteTable.List);
        return admin;
    }

    private static Ok<ServiceView[]> ListServices(ServiceRegistry registry) =>
        TypedResults.Ok(registry.Clusters.Select(cluster => new ServiceView(
            cluster.Id,
            cluster.Config.LoadBalancingPolicy.ToString(),
            cluster.HealthyCount,
            cluster.Instances.Length,
            BreakerName(registry.BreakerState(cluster.Id)),
            cluster.Instances.Select(InstanceView.Of).ToArray())).ToArray());

    private static async Task<Results<Created<InstanceView>, ValidationProblem, ProblemHttpResult>> RegisterInstance(
        string service, RegisterInstanceRequest request, IValidator<RegisterInstanceRequest> validator,
        ServiceRegistry registry, AdminState state, ILoggerFactory loggers, HttpContext context)
    {
        var validation = await validator.ValidateAsync(request);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.ToDictionary());
        }

        if (registry.Find(service) is not { } cluster)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"Service '{service}' is not configured.");
        }

        var id = request.Id ?? Guid.NewGuid().ToString("N")[..12];
        if (cluster.Find(id) is not null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, detail: $"Service '{service}' already has an instance '{id}'.");
        }

        var shared = await state.ChangeAsync(AdminState.InstanceField(cluster.Id, id), AdminState.Registration(request.Address!, request.Weight ?? 1));
        var instance = cluster.Find(id)!;
        var (logger, actor) = (AdminLog.For(loggers), AdminLog.Actor(context));
        AdminLog.Changed(logger, service, instance.Id, instance.BaseAddress, "registered", actor);
        return shared ? TypedResults.Created($"/admin/services/{service}/instances/{instance.Id}", InstanceView.Of(instance)) : NotShared();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveInstance(string service, string id, ServiceRegistry registry, AdminState state,
        ILoggerFactory loggers, HttpContext context)
    {
        if (registry.Find(service)?.Find(id) is not { } instance)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"Service '{service}' has no instance '{id}'.");
        }

        var shared = await state.ChangeAsync(AdminState.InstanceField(service, instance.Id), value: null);
        var (logger, actor) = (AdminLog.For(loggers), AdminLog.Actor(context));
        AdminLog.Changed(logger, service, instance.Id, "-", "removed", actor);
        return shared ? TypedResults.NoContent() : NotShared();
    }

    /// <summary>Applied here, but not on the other replicas: the operator should call again once Redis is back.</summary>
    private static ProblemHttpResult NotShared() => TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
        detail: "The change holds on this replica only: the shared store (Redis) could not be reached. Send it again once it is back.");

    /// <summary>
    /// Takes an instance out of rotation without removing it, before a deploy stops it: the balancer sends it no new
    /// client, requests in flight finish, and clients bound to it by session affinity stay until their sessions end.
    /// It is kept across configuration reloads while its address and weight stay; the probes do not return it.
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> DrainAsync(string service, string id, ServiceRegistry registry, AdminState state,
        ILoggerFactory loggers, HttpContext context)
    {
        var draining = HttpMethods.IsPost(context.Request.Method);
        if (registry.Find(service) is not { } cluster || cluster.Find(id) is not { } instance)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"Service '{service}' has no instance '{id}'.");
        }

        var shared = await state.ChangeAsync(AdminState.DrainField(cluster.Id, instance.Id), draining ? "1" : null);
        var (logger, actor) = (AdminLog.For(loggers), AdminLog.Actor(context));
        AdminLog.Changed(logger, service, instance.Id, instance.BaseAddress, draining ? "drained" : "returned to rotation", actor);
        return shared ? TypedResults.NoContent() : NotShared();
    }

    /// <summary>
    /// Holds a service's breaker open by hand (Polly's isolation), so no call reaches a service known to be broken or
    /// under maintenance, or closes it and resets its counts once the service is fixed. Its routes answer 503 while
    /// it is held; the breaker's own state comes back with the close.
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> IsolateAsync(string service, ServiceRegistry registry,
        AdminState state, ILoggerFactory loggers, HttpContext context)
    {
        var isolate = HttpMethods.IsPost(context.Request.Method);
        if (registry.Find(service) is not { } cluster)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"Service '{service}' is not configured.");
        }

        if (!cluster.Config.CircuitBreaker.Enabled)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, detail: $"Service '{service}' has no circuit breaker (CircuitBreaker:Enabled is false).");
        }

        var shared = await state.ChangeAsync(AdminState.IsolationField(cluster.Id), isolate ? "1" : null);
        var (logger, actor) = (AdminLog.For(loggers), AdminLog.Actor(context));
        AdminLog.Breaker(logger, cluster.Id, isolate ? "isolated (held open)" : "closed", actor);
        return shared ? TypedResults.NoContent() : NotShared();
    }

    private static Ok<BreakerView[]> ListBreakers(ServiceRegistry registry) =>
        TypedResults.Ok(registry.Clusters.Select(c => new BreakerView(c.Id, BreakerName(registry.BreakerState(c.Id)))).ToArray());

    /// <summary>Empties a route's response cache (every replica's, when the cache is in Redis).</summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> PurgeCache(string route, GatewayRouteTable routes,
        IOutputCacheStore store, ILoggerFactory loggers, HttpContext context)
    {
        if (!routes.Routes.TryGetValue(route, out var config) || config.Cache is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"No route '{route}' caches answers.");
        }

        var logger = AdminLog.For(loggers);
        if (!await ResponseCache.PurgeAsync(store, route, context.RequestAborted))
        {
            AdminLog.PurgeFailed(logger, route);
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                detail: $"The cache store could not be reached; the answers of route '{route}' may still be served.");
        }

        var actor = AdminLog.Actor(context);
        AdminLog.Purged(logger, route, actor);
        return TypedResults.NoContent();
    }

    private static string BreakerName(CircuitState? state) => state switch
    {
        null => "none",
        CircuitState.HalfOpen => "half-open",
        CircuitState.Isolated => "isolated",
        _ => state.Value.ToString().ToLowerInvariant(),
    };

    public sealed record ServiceView(string Service, string Policy, int Healthy, int Total, string CircuitBreaker, InstanceView[] Instances);

    public sealed record BreakerView(string Service, string State);

    public sealed record InstanceView(string Id, string Address, int Weight, bool Backup, string Status, bool Draining, DateTimeOffset? LastCheck,
        double EwmaMs, int InFlight, string Source)
    {
        public static InstanceView Of(ServiceInstance i) => new(i.Id, i.BaseAddress, i.Weight, i.IsBackup, i.Status.ToString().ToLowerInvariant(),
            i.Draining, i.LastCheck, Math.Round(i.EwmaMilliseconds, 3), i.InFlight, i.Source.ToString().ToLowerInvariant());
    }
}

/// <summary>The admin API's changes, under one category, each with who made it: an audit trail in the gateway's log.</summary>
internal static partial class AdminLog
{
    public const string Category = "Gateway.Admin";

    public static ILogger For(ILoggerFactory loggers) => loggers.CreateLogger(Category);

    /// <summary>The token's subject behind the admin policy; without one the API takes only loopback callers.</summary>
    public static string Actor(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? name : "a loopback caller";

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Instance {Service}/{Instance} ({Address}) {Change} through the admin API by {Actor}")]
    public static partial void Changed(ILogger logger, string service, string instance, string address, string change, string actor);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Response cache of route {Route} purged through the admin API by {Actor}")]
    public static partial void Purged(ILogger logger, string route, string actor);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Circuit breaker of {Service} {Change} through the admin API by {Actor}")]
    public static partial void Breaker(ILogger logger, string service, string change, string actor);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Response cache of route {Route} not purged: the cache store is unreachable")]
    public static partial void PurgeFailed(ILogger logger, string route);
}
