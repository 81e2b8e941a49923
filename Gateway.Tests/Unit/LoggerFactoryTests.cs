using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Gateway.Tests.Unit;

/// <summary>The real host's logger factory keeps one logger per category, as the framework's own does.</summary>
public sealed class LoggerFactoryTests
{
    [Fact]
    public async Task A_category_gets_the_same_logger_each_time_and_handlers_made_per_request_share_it()
    {
        await using var app = TestGateway.Build(GatewayConfig.Quotes("http://127.0.0.1:5101").WithSharedSecret());
        var factory = app.Services.GetRequiredService<ILoggerFactory>();

        factory.CreateLogger("Gateway.Test").Should().BeSameAs(factory.CreateLogger("Gateway.Test"));
        factory.CreateLogger("Gateway.Test").Should().NotBeSameAs(factory.CreateLogger("Gateway.Other"));

        // Authentication handlers are created per request and take their logger from the factory.
        var loggers = new HashSet<ILogger>(ReferenceEqualityComparer.Instance);
        for (var request = 0; request < 3; request++)
        {
            await using var scope = app.Services.CreateAsyncScope();
            var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
            var handler = await scope.ServiceProvider.GetRequiredService<IAuthenticationHandlerProvider>().GetHandlerAsync(context, "Bearer");
            handler.Should().NotBeNull();
            loggers.Add(LoggerOf(handler!));
        }

        loggers.Should().HaveCount(1, "every request's handler logs through the one logger of its category");
    }

    // AuthenticationHandler<T>.Logger is protected; the test reads it as the handler itself would.
    private static ILogger LoggerOf(IAuthenticationHandler handler) =>
        (ILogger)handler.GetType().GetProperty("Logger", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!.GetValue(handler)!;
}
