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
/// and what waits for a restart is named (<see cref="ReloadScope"/>). Whether a part of the file can be taken is asked
/// of the same validators, over the running configuration with that part's values in it: a route naming a policy
/// the file drops, an admin API naming a role policy it drops, fail there as they would at a start.
/// </summary>
internal sealed partial class ReloadValidation(
    IConfiguration configuration, IEnumerable<IValidateOptions<GatewayOptions>> validators, Discovery.ServiceRegistry registry,
    Forwarding.ClusterPipelines pipelines, GatewayRouteTable routes, RateLimiting.GatewayRateLimiter limiter, Identity.GatewayCorsPolicies cors,
    Identity.GatewayAuthorizationPolicies authorization, Forwarding.TrustedProxies proxies, NetworksDeniedEverywhere denied, ConfigurationStatus status, IOutputCacheStore cache,
    ILogger<ReloadValidation> logger)
    : IHostedService, IDisposable
{
    private IDisposable? _subscription;

    // The values the gateway runs: those it started with, and those of the reloads it took since.
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

        var failures = Failures(options);
        if (failures.Length > 0)
        {
            status.Refused();
            ReloadRefused(logger, string.Join("; ", failures));
            return;
        }

        var current = ReloadScope.Snapshot(configuration);
        // Clusters first: the routes of the same edit may send to them.
        registry.AddNew(options);
        foreach (var (id, cluster) in options.Clusters)
        {
            pipelines.Sync(id, cluster);
        }

        _running = ReloadScope.WithValuesOf(_running, current, key => ReloadScope.IsClusterKey(key, options.Clusters.Keys));
        var pending = ReloadScope.RestartNeeded(_running, current);
        // Policies before the routes when the routes that run now find theirs in them too, so no request of the new
        // routes meets the previous policies; otherwise (a policy renamed) after the new routes, which name them.
        pending = TakePolicies(options, current, pending, lastChance: false);
        var changedRoutes = pending.Where(ReloadScope.IsRoute).ToArray();
        IReadOnlyList<string> held = [];
        if (changedRoutes.Length > 0)
        {
            // With the policies the same file brings: the routes may name them.
            held = routes.TryReplace(Running(current, key => ReloadScope.IsRoute(key) || PolicySections.Any(section => ReloadScope.IsKeyOf(section, key))));
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
        pending = TakeSections([ReloadScope.TrustedProxies], current, pending, lastChance: true, _ => proxies.Replace(options.TrustedProxies));
        pending = TakeSections([ReloadScope.DeniedClientNetworks], current, pending, lastChance: true, _ => denied.Replace(options.DeniedClientNetworks));
        status.Accepted(pending, held);
        if (pending.Count > 0)
        {
            TakesEffectAtNextStart(logger, string.Join(", ", pending));
        }
    }

    /// <summary>The sections of policies routes name, taken with the routes of the same edit.</summary>
    private static readonly string[] PolicySections = [ReloadScope.RateLimiting, ReloadScope.Cors, ReloadScope.AuthPolicies];

    private IReadOnlyList<string> TakePolicies(GatewayOptions options, Dictionary<string, string?> current, IReadOnlyList<string> pending, bool lastChance) =>
        TakeSections(PolicySections, current, pending, lastChance, section =>
        {
            switch (section)
            {
                case ReloadScope.RateLimiting:
                    limiter.Replace(options.RateLimiting);
                    break;
                case ReloadScope.Cors:
                    cors.Replace(options.Cors);
                    break;
                case ReloadScope.AuthPolicies:
                    authorization.Replace(options.Auth);
                    // The authorization middleware keeps each endpoint's combined policy until the endpoints change.
                    routes.Rebuild();
                    break;
            }
        });

    /// <summary>
    /// Takes the sections of <paramref name="sections"/> the file changed, together, when the running configuration with
    /// them passes the validators: a policy the file drops would leave a running route unlimited, without its CORS
    /// answers, or failing on a missing policy. Together, because one edit may move a route's policies in two of them.
    /// </summary>
    /// <param name="lastChance">Whether sections held now wait for the next start (and are logged as waiting).</param>
    private IReadOnlyList<string> TakeSections(string[] sections, Dictionary<string, string?> current, IReadOnlyList<string> pending, bool lastChance,
        Action<string> apply)
    {
        string[] changed = [.. sections.Where(section => pending.Contains(section, StringComparer.OrdinalIgnoreCase))];
        if (changed.Length == 0)
        {
            return pending;
        }

        bool InChanged(string key) => changed.Any(section => ReloadScope.IsKeyOf(section, key));
        var unserved = Failures(Running(current, InChanged));
        if (unserved.Length > 0)
        {
            if (lastChance)
            {
                foreach (var section in changed)
                {
                    SectionHeld(logger, section, string.Join("; ", unserved));
                }
            }

            return pending;
        }

        foreach (var section in changed)
        {
            apply(section);
            SectionReplaced(logger, section);
        }

        _running = ReloadScope.WithValuesOf(_running, current, InChanged);
        return [.. pending.Where(setting => !changed.Contains(setting, StringComparer.OrdinalIgnoreCase))];
    }

    /// <summary>The configuration the gateway runs, with the file's values of the keys <paramref name="taken"/> names.</summary>
    private GatewayOptions Running(Dictionary<string, string?> current, Func<string, bool> taken) =>
        new ConfigurationBuilder().AddInMemoryCollection(ReloadScope.WithValuesOf(_running, current, taken)).Build()
            .GetSection(GatewayOptions.SectionName).Get<GatewayOptions>() ?? new GatewayOptions();

    private string[] Failures(GatewayOptions options) =>
        [.. validators.Select(validator => validator.Validate(Options.DefaultName, options)).Where(result => result.Failed).SelectMany(result => result.Failures ?? [])];

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

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "Configuration reload kept the running {Section}: the running configuration needs what the file's leaves out: {Reasons}")]
    private static partial void SectionHeld(ILogger logger, string section, string reasons);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Configuration reload changed {Settings}, which the running gateway keeps as it started with until its next start")]
    private static partial void TakesEffectAtNextStart(ILogger logger, string settings);
}
