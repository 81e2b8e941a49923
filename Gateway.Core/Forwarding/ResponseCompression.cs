using Gateway.Core.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Forwarding;

/// <summary>How the routes that compress do it (<c>Gateway:Compression</c>).</summary>
public sealed record CompressionConfig
{
    /// <summary>
    /// Bytes below which an answer of known length passes as it came (nginx's <c>gzip_min_length</c>): a small body
    /// gains a few bytes at most, or grows, for the CPU of a compressor. An answer without a length is compressed.
    /// </summary>
    public long MinimumSize { get; init; } = 256;
}

/// <summary>The framework's provider, which also leaves out answers under <see cref="CompressionConfig.MinimumSize"/>.</summary>
internal sealed class MinimumSizeCompressionProvider(IServiceProvider services, IOptions<ResponseCompressionOptions> options, IOptions<GatewayOptions> gateway)
    : ResponseCompressionProvider(services, options)
{
    private readonly long _minimum = gateway.Value.Compression.MinimumSize;

    public override bool ShouldCompressResponse(HttpContext context) =>
        (context.Response.ContentLength is not { } length || length >= _minimum) && base.ShouldCompressResponse(context);
}

/// <summary>
/// Compression of a route's answers (<see cref="RouteConfig.Compress"/>, nginx's <c>gzip on</c>) by the framework's
/// response compression middleware: Brotli or gzip as the client's <c>Accept-Encoding</c> prefers, for text and JSON
/// bodies the upstream sent uncompressed. An answer the upstream compressed already passes as it came. Over HTTPS
/// too, as nginx compresses: the framework's default leaves HTTPS out (a secret and a reflected input in one
/// compressed body leak through its length, BREACH), but a gateway behind a balancer that ends TLS sees plain HTTP,
/// so that default would protect only some HTTPS clients. The route's own switch is the decision, made for answers
/// that hold no secret beside what a client sent, such as a public catalog.
/// </summary>
public static class ResponseCompression
{
    /// <summary>Endpoint metadata of a route that compresses.</summary>
    public sealed class Metadata
    {
        public static readonly Metadata Instance = new();

        private Metadata()
        {
        }
    }

    public static IServiceCollection AddGatewayCompression(this IServiceCollection services)
    {
        services.AddResponseCompression(options =>
        {
            options.EnableForHttps = true;
            options.Providers.Add<BrotliCompressionProvider>();
            options.Providers.Add<GzipCompressionProvider>();
            options.MimeTypes = [.. ResponseCompressionDefaults.MimeTypes, "application/problem+json", "image/svg+xml"];
        });
        services.AddSingleton<IResponseCompressionProvider, MinimumSizeCompressionProvider>();
        return services;
    }

    public static void Apply(RouteGroupBuilder group, RouteConfig config)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(config);
        if (config.Compress)
        {
            group.WithMetadata(Metadata.Instance);
        }
    }

    /// <summary>In the pipeline only when a route compresses, and there only for its requests.</summary>
    public static WebApplication UseGatewayCompression(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (RouteBranches.InPipeline(app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value, RouteBranch.Compression))
        {
            app.UseWhen(static context => context.GetEndpoint()?.Metadata.GetMetadata<Metadata>() is not null, static branch => branch
                .UseResponseCompression()
                // A proxied body streams: each write then goes through the compressor at once, not when it fills a block.
                .Use(static (context, next) =>
                {
                    context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
                    return next(context);
                }));
        }

        return app;
    }
}
