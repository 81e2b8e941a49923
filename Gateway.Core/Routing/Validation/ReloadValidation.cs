using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Gateway.Core.Routing.Validation;

/// <summary>
/// Checks each configuration reload with the start-up validators and says when it is refused. The options monitor
/// refuses an invalid reload by throwing inside its own change callback, where nothing reports it: the running
/// configuration stayed and the operator was not told. The change is bound and validated afresh here, not read
/// from the monitor's cache, so the check does not depend on which callback runs first. A reload that passes is
/// compared with the configuration the gateway runs: changed routes replace the route table when it can serve them,
/// and what waits for a restart is named (<see cref="ReloadScope"/>).
/// </summary>
internal sealed partial class ReloadValidation(
    IConfiguration configuration, IOptions<GatewayOptions> started, IEnumerable<IValidateOptions<GatewayOptions>> validators, Discovery.ServiceRegistry registry,
    Forwarding.ClusterPipelines pipelines, GatewayRouteTable routes, RateLimiting.GatewayRateLimiter limiter, Identity.GatewayCorsPolicies cors,
    Identity.GatewayAuthorizationPolicies authorization, Forwarding.TrustedProxies proxies, ConfigurationStatus status, IOutputCacheStore cache,
    ILogger<ReloadValidation> logger)
    : IHostedService, IDisposable
{
    private IDisposable? _subscription;

    // The values the gateway runs: those it started with, and the routes of the last reload it took them from.
    private Dictionary<string, string?> _running = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _running = ReloadScope.Snapshot(configuration);
        _subscription = ChangeToken.OnChange(configuration.GetReloadToken, Check);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _subscription?.Dispose();

    private void Check()
    {
        GatewayOptions options;
        try
        {
            options = configuration.GetSection(GatewayOptions.SectionName).Get<GatewayOptions>() ?? new GatewayOptions();
        }
        catch (InvalidOperationException ex)
        {
            status.Refused();
            ReloadRefused(logger, ex.Message);
            return;
        }

        var failures = validators.Select(validator => validator.Validate(Options.DefaultName, options))
            .Where(result => result.Failed)
            .SelectMany(result => result.Failures ?? [])
            .ToArray();
        if (failures.Length > 0)
        {
            status.Refused();
            ReloadRefused(logger, string.Join("; ", failures));
            return;
        }

        var current = ReloadScope.Snapshot(configuration);
        // Clusters first: the routes of the same edit may send to them.
        var added = registry.AddNew(options);
        foreach (var (id, cluster) in options.Clusters)
        {
            pipelines.Sync(id, cluster);
        }

        _running = ReloadScope.WithValuesOf(_running, current, key => ReloadScope.IsClusterKey(key, added));
        var pending = ReloadScope.RestartNeeded(_running, current);
        // Policies before the routes when the routes that run now find theirs in them too, so no request of the new
        // routes meets the previous policies; otherwise (a policy renamed) after the new routes, which name them.
        pending = TakePolicies(options, current, pending, lastChance: false);
        var changedRoutes = pending.Where(ReloadScope.IsRoute).ToArray();
        IReadOnlyList<string> held = [];
        if (changedRoutes.Length > 0)
        {
            held = routes.TryReplace(options);
            if (held.Count == 0)
            {
                _running = ReloadScope.WithValuesOf(_running, current, ReloadScope.IsRoute);
                pending = [.. pending.Where(setting => !ReloadScope.IsRoute(setting))];
                _ = PurgeAnswersAsync(changedRoutes);
                if (logger.IsEnabled(LogLevel.Information))
                {
#pragma warning disable CA1873 // guarded by IsEnabled just above
                    RoutesReplaced(logger, string.Join(", ", changedRoutes));
#pragma warning restore CA1873
                }
            }
            else
            {
                RoutesHeld(logger, string.Join("; ", held));
            }
        }

        pending = TakePolicies(options, current, pending, lastChance: true);
        pending = TakeSection(ReloadScope.TrustedProxies, current, pending, lastChance: true, static (_, _) => { }, () => proxies.Replace(options.TrustedProxies));
        status.Accepted(pending, held);
        if (pending.Count > 0)
        {
            TakesEffectAtNextStart(logger, string.Join(", ", pending));
        }
    }

    /// <summary>
    /// A reloaded section of policies that routes name (rate limits, CORS) applies when every route running at that
    /// moment finds its policy in it: a policy the file drops would leave a running route unlimited or without its
    /// CORS answers.
    /// </summary>
    private IReadOnlyList<string> TakePolicies(GatewayOptions options, Dictionary<string, string?> current, IReadOnlyList<string> pending, bool lastChance)
    {
        pending = TakeSection(ReloadScope.RateLimiting, current, pending, lastChance,
            EachRoute((key, route, errors) => RateLimitingValidator.ValidateRoute(key, route, options.RateLimiting, errors)),
            () => limiter.Replace(options.RateLimiting));
        pending = TakeSection(ReloadScope.Cors, current, pending, lastChance,
            EachRoute((key, route, errors) => CorsValidator.ValidateRoute(key, route, options.Cors, errors)),
            () => cors.Replace(options.Cors));

        // The admin API and /metrics name role policies too; the rest of Gateway:Auth runs as it started.
        var withRoles = started.Value with { Auth = started.Value.Auth with { Policies = options.Auth.Policies } };
        return TakeSection(ReloadScope.AuthPolicies, current, pending, lastChance,
            (running, errors) =>
            {
                EachRoute((key, route, list) => AuthConfigValidator.ValidateRoute(key, route, withRoles, list))(running, errors);
                AuthConfigValidator.ValidatePolicyName($"{GatewayOptions.SectionName}:Admin:Authorization", withRoles.Admin.Authorization, withRoles, errors);
                AuthConfigValidator.ValidatePolicyName($"{GatewayOptions.SectionName}:Admin:MetricsAuthorization", withRoles.Admin.MetricsAuthorization, withRoles, errors);
            },
            () =>
            {
                authorization.Replace(withRoles.Auth);
                // The authorization middleware keeps each endpoint's combined policy until the endpoints change.
                routes.Rebuild();
            });
    }

    private static Action<IReadOnlyDictionary<string, RouteConfig>, List<string>> EachRoute(Action<string, RouteConfig, List<string>> checkRoute) =>
        (running, errors) =>
        {
            foreach (var (id, route) in running)
            {
                checkRoute($"{GatewayOptions.SectionName}:Routes:{id}", route, errors);
            }
        };

    /// <summary>Takes a reloaded section whole, unless what runs names what it leaves out.</summary>
    /// <param name="lastChance">Whether a section held now waits for the next start (and is logged as waiting).</param>
    /// <param name="check">Adds an error for each thing the running routes (or the gateway's own endpoints) name that the reloaded section lacks.</param>
    private IReadOnlyList<string> TakeSection(string section, Dictionary<string, string?> current, IReadOnlyList<string> pending, bool lastChance,
        Action<IReadOnlyDictionary<string, RouteConfig>, List<string>> check, Action apply)
    {
        if (!pending.Contains(section, StringComparer.OrdinalIgnoreCase))
        {
            return pending;
        }

        var unserved = new List<string>();
        check(routes.Routes, unserved);

        if (unserved.Count > 0)
        {
            if (lastChance)
            {
                SectionHeld(logger, section, string.Join("; ", unserved));
            }

            return pending;
        }

        apply();
        _running = ReloadScope.WithValuesOf(_running, current, key => ReloadScope.IsKeyOf(section, key));
        SectionReplaced(logger, section);
        return [.. pending.Where(setting => !string.Equals(setting, section, StringComparison.OrdinalIgnoreCase))];
    }

    /// <summary>
    /// A changed route may send elsewhere or transform differently; what its previous version cached would otherwise
    /// be served for the rest of its duration. After the swap, so no new request stores under the old route (one in
    /// flight on it still may).
    /// </summary>
    private async Task PurgeAnswersAsync(IEnumerable<string> changedRoutes)
    {
        foreach (var route in changedRoutes.Select(ReloadScope.RouteIdOf))
        {
            try
            {
                if (!await Caching.ResponseCache.PurgeAsync(cache, route, CancellationToken.None))
                {
                    PurgeFailed(logger, route, "the cache store could not be reached");
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
            {
                PurgeFailed(logger, route, ex.Message);
            }
        }
    }

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "Answers cached for the changed route {Route} were not purged ({Reason}); they are served until they expire")]
    private static partial void PurgeFailed(ILogger logger, string route, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Configuration reload refused, the running configuration stays: {Failures}")]
    private static partial void ReloadRefused(ILogger logger, string failures);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Configuration reload replaced the route table; changed routes: {Routes}")]
    private static partial void RoutesReplaced(ILogger logger, string routes);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Configuration reload kept the running routes, the file's wait for the next start: {Reasons}")]
    private static partial void RoutesHeld(ILogger logger, string reasons);

    [LoggerMessage(EventId = 111, Level = LogLevel.Information, Message = "Configuration reload replaced {Section}")]
    private static partial void SectionReplaced(ILogger logger, string section);

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "Configuration reload kept the running {Section}: the running routes name what the file's leaves out: {Reasons}")]
    private static partial void SectionHeld(ILogger logger, string section, string reasons);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Configuration reload changed {Settings}, which the running gateway keeps as it started with until its next start")]
    private static partial void TakesEffectAtNextStart(ILogger logger, string settings);
}
