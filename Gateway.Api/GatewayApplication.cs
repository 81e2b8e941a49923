using FluentValidation;
using Gateway.Api.Admin;
using Gateway.Api.Identity;
using Gateway.Core.Hosting;
using Gateway.Core.RateLimiting;
using Gateway.Core.Routing;

namespace Gateway.Api;

/// <summary>Builds the gateway host; tests call it with their own configuration on a loopback port.</summary>
public static class GatewayApplication
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        GatewayConfigFile.Apply(builder.Configuration);
        configure?.Invoke(builder);

        builder.Services.AddGateway(builder.Configuration);
        builder.Services.AddHealthChecks();
        builder.Services.AddSingleton<IValidator<RegisterInstanceRequest>, RegisterInstanceRequestValidator>();

        var app = builder.Build();
        app.UseGatewayPipeline();
        app.MapHealthChecks("/health/live").WithMetadata(new RateLimitPolicyMetadata("health", "health"));
        var admin = app.MapAdminApi();
        app.MapAuthEndpoints(admin);
        app.MapGatewayRoutes();
        return app;
    }
}
