using Microsoft.Extensions.Configuration.Json;

namespace Gateway.Api;

/// <summary>
/// <c>GATEWAY_CONFIG=path.json</c> (or <c>--GATEWAY_CONFIG</c>) swaps appsettings.json for another profile, such
/// as the shipped <c>gateway.bcommerce.json</c>. It replaces rather than layers because configuration merges
/// dictionaries: layered, B-Commerce would inherit SmartEnvios' routes.
/// </summary>
internal static class GatewayConfigFile
{
    public const string Key = "GATEWAY_CONFIG";

    /// <summary>SmartEnvios' services share their HS256 secret as <c>JWT_SECRET</c>; it maps onto Gateway:Auth:SigningKey.</summary>
    public const string SharedSecretVariable = "JWT_SECRET";

    public static void Apply(ConfigurationManager configuration)
    {
        if (configuration[SharedSecretVariable] is { Length: > 0 } secret && string.IsNullOrEmpty(configuration["Gateway:Auth:SigningKey"]))
        {
            configuration.AddInMemoryCollection([new("Gateway:Auth:SigningKey", secret)]);
        }

        var path = configuration[Key];
        if (string.IsNullOrWhiteSpace(path))
        {
            return;
        }

        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new FileNotFoundException($"{Key}: the gateway configuration file '{fullPath}' does not exist.", fullPath);
        }

        var sources = configuration.Sources;
        var index = -1;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is JsonConfigurationSource { Path: "appsettings.json" })
            {
                index = i;
                break;
            }
        }

        // Watched like the appsettings.json it replaces, under the host's own switch for that.
        var reload = configuration.GetValue("hostBuilder:reloadConfigOnChange", defaultValue: true);
        var replacement = new JsonConfigurationSource { Path = fullPath, Optional = false, ReloadOnChange = reload };
        replacement.ResolveFileProvider();
        if (index >= 0)
        {
            sources[index] = replacement;
        }
        else
        {
            sources.Insert(0, replacement);
        }
    }
}
