using System.Globalization;
using Gateway.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// The real gateway host (<see cref="GatewayApplication.Build"/>) in-process on a real loopback port, configured
/// only by the test: the shipped appsettings.json is swapped for an empty file, so no shipped route leaks in.
/// </summary>
public sealed class TestGateway : IAsyncDisposable
{
    private static readonly string EmptyConfig = WriteEmptyConfig();
    private readonly WebApplication _app;

    private TestGateway(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        Client = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    /// <summary>The bodies of <paramref name="count"/> GETs of <paramref name="path"/>, sent one after another.</summary>
    public async Task<List<string>> GetStringsAsync(string path, int count)
    {
        var answers = new List<string>();
        for (var i = 0; i < count; i++)
        {
            answers.Add(await Client.GetStringAsync(path));
        }

        return answers;
    }

    public IServiceProvider Services => _app.Services;

    public int Port => Address.Port;

    public static async Task<TestGateway> StartAsync(GatewayConfig config, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var app = Build(config, configure);
        await app.StartAsync();
        return new TestGateway(app, new Uri(app.Urls.First()));
    }

    /// <summary>Builds without starting: configuration errors surface here, as they would at start-up.</summary>
    public static WebApplication Build(GatewayConfig config, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        return GatewayApplication.Build(
            // No file watchers: every watcher is an inotify instance, the machine allows 128 per user, and the suite
            // runs many hosts at once (a test that needs a reload adds its own watched file).
            ["--urls", "http://127.0.0.1:0", $"--GATEWAY_CONFIG={EmptyConfig}", "--hostBuilder:reloadConfigOnChange=false"],
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(config.Settings);
                configure?.Invoke(builder);
            });
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static string WriteEmptyConfig()
    {
        var path = Path.Combine(Path.GetTempPath(), "gateway-tests-empty.json");
        File.WriteAllText(path, """{ "Serilog": { "MinimumLevel": { "Default": "Warning" } } }""");
        return path;
    }
}

/// <summary>Gateway configuration for a test, as configuration keys (the same keys appsettings.json uses).</summary>
public sealed class GatewayConfig
{
    public Dictionary<string, string?> Settings { get; } = new(StringComparer.OrdinalIgnoreCase);

    public GatewayConfig Route(string id, string path, string cluster, params string[] methods)
    {
        Settings[$"Gateway:Routes:{id}:Path"] = path;
        Settings[$"Gateway:Routes:{id}:ClusterId"] = cluster;
        for (var i = 0; i < methods.Length; i++)
        {
            Settings[$"Gateway:Routes:{id}:Methods:{i}"] = methods[i];
        }

        return this;
    }

    public GatewayConfig Cluster(string id, params string[] addresses)
    {
        for (var i = 0; i < addresses.Length; i++)
        {
            Settings[$"Gateway:Clusters:{id}:Destinations:{id}-{i + 1}:Address"] = addresses[i];
        }

        return this;
    }

    public GatewayConfig Set(string key, object? value)
    {
        Settings[key] = Convert.ToString(value, CultureInfo.InvariantCulture);
        return this;
    }

    /// <summary>Information and above also to a file (Serilog's own file sink from configuration), read with <see cref="LogFile"/>.</summary>
    public GatewayConfig LogToFile(string path, string template = "{EventId} {Message:lj}{NewLine}") => this
        .Set("Serilog:MinimumLevel:Default", "Information")
        .Set("Serilog:WriteTo:0:Name", "File")
        .Set("Serilog:WriteTo:0:Args:path", path)
        .Set("Serilog:WriteTo:0:Args:outputTemplate", template);

    /// <summary>One quotes route like SmartEnvios' (prefix /api/v1 stripped) over the given upstreams.</summary>
    public static GatewayConfig Quotes(params string[] upstreams) => new GatewayConfig()
        .Route("quotes", "/api/v1/quotes/{**rest}", "quote-service", "GET", "POST")
        .Set("Gateway:Routes:quotes:Transform:PathRemovePrefix", "/api/v1")
        .Cluster("quote-service", upstreams);
}
