using FluentValidation;
using Gateway.Core.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Flows;

public static class FlowsServiceCollectionExtensions
{
    public static IServiceCollection AddGatewayFlows(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<GatewayOptions>>().Value.Flows.Freight);
        services.TryAddSingleton<IValidator<FreightFlowRequest>, FreightFlowRequestValidator>();
        services.TryAddSingleton<IValidator<QuoteRequest>, QuoteRequestValidator>();
        services.TryAddSingleton<QuoteServiceClient>();
        services.TryAddSingleton<ContractServiceClient>();
        services.TryAddSingleton<TrackingServiceClient>();
        services.TryAddSingleton<FreightFlow>();
        services.TryAddSingleton<RouteBodyValidation>();

        if (configuration.GetSection("Gateway:Redis")["Configuration"] is { Length: > 0 })
        {
            services.TryAddSingleton<IIdempotencyStore, RedisIdempotencyStore>();
        }
        else
        {
            services.TryAddSingleton<IIdempotencyStore, InMemoryIdempotencyStore>();
        }

        return services;
    }
}
