using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Integration;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// A gateway process of its own on a watched configuration file, the quotes route and cluster in its environment and
/// the cluster's destinations in the file. Its log is the one place a reload's verdict shows.
/// </summary>
internal static class WatchedGateway
{
    /// <param name="configure">Settings of the environment besides the quotes route and cluster.</param>
    /// <param name="content">The file the gateway starts with; by default, the quotes cluster's destination a.</param>
    public static async Task<(GatewayProcess Gateway, string File)> StartAsync(NamedUpstream a, Func<GatewayConfig, GatewayConfig>? configure = null, string? content = null)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("gw-reload-").FullName, "gateway.json");
        await File.WriteAllTextAsync(file, content ?? Destinations(("a", a.Url)));
        var config = GatewayConfig.Quotes().Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false);
        var gateway = await GatewayProcess.StartAsync(
            configure?.Invoke(config) ?? config,
            new Dictionary<string, string> { ["GATEWAY_CONFIG"] = file, ["DOTNET_hostBuilder__reloadConfigOnChange"] = "true" });
        try
        {
            (await gateway.Client.GetStringAsync("/api/v1/quotes/who")).Should().Be("a");
            return (gateway, file);
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    /// <summary>The file's content: the quotes cluster's destinations, and routes of the file's own when given.</summary>
    public static string Destinations(params (string Id, string Url)[] destinations) => Configuration(destinations, routes: null);

    /// <param name="otherClusters">Clusters besides quote-service, each with one destination, by id.</param>
    public static string Configuration((string Id, string Url)[] destinations, IReadOnlyDictionary<string, object>? routes,
        IReadOnlyDictionary<string, string>? otherClusters = null)
    {
        var clusters = new Dictionary<string, object> { ["quote-service"] = new { Destinations = destinations.ToDictionary(d => d.Id, d => new { Address = d.Url }) } };
        foreach (var (id, url) in otherClusters ?? new Dictionary<string, string>())
        {
            clusters[id] = new { Destinations = new Dictionary<string, object> { ["only"] = new { Address = url } } };
        }

        return JsonSerializer.Serialize(new { Gateway = new { Routes = routes ?? new Dictionary<string, object>(), Clusters = clusters } });
    }

    public static async Task<JsonElement> ConfigurationStatusAsync(GatewayProcess gateway) =>
        JsonDocument.Parse(await gateway.Client.GetStringAsync("/admin/configuration")).RootElement;

    /// <summary>Polled: a reload's changes answer a moment before its status is recorded.</summary>
    public static Task ShouldRunTheFileAsync(GatewayProcess gateway) => Poll.UntilAsync(async () =>
        {
            var status = await ConfigurationStatusAsync(gateway);
            return status.GetProperty("pendingRestart").GetArrayLength() == 0 && status.GetProperty("routesHeldBecause").GetArrayLength() == 0
                && status.GetProperty("lastReloadSuccessful").GetBoolean();
        },
        TimeSpan.FromSeconds(15), "the status to say the gateway runs its file as written");
}
