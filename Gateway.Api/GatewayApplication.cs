using FluentValidation;
using Gateway.Api.Admin;
using Gateway.Api.Identity;
using Gateway.Core.Hosting;
using Gateway.Api.Flows;
using Gateway.Api.Health;
using Gateway.Api.Hosting;
using Gateway.Core.Routing;

namespace Gateway.Api;

/// <summary>Builds the gateway host; tests call it with their own configuration on a loopback port.</summary>
public static class GatewayApplication
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // The app's own folder, not the caller's: appsettings.json is found wherever the gateway is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        GatewayConfigFile.Apply(builder.Configuration);
        configure?.Invoke(builder);

        builder.AddGatewayTelemetry();
        builder.Services.AddGateway(builder.Configuration);
        builder.Services.AddGatewayHealthChecks(builder.Configuration);
        builder.Services.AddSingleton<IValidator<RegisterInstanceRequest>, RegisterInstanceRequestValidator>();

        var app = builder.Build();
        app.UseGatewayPipeline();
        app.MapGatewayHealth();
        var metrics = app.MapPrometheusScrapingEndpoint(GatewayPaths.Metrics);
        if (app.Configuration["Gateway:Admin:MetricsAuthorization"] is { Length: > 0 } metricsPolicy)
        {
            metrics.RequireAuthorization(metricsPolicy);
        }

        var admin = app.MapAdminApi();
        app.MapAuthEndpoints(admin);
        app.MapFreightFlow();
        app.MapGatewayRoutes();
        return app;
    }
}
