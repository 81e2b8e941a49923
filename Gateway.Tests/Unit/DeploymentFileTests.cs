using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Gateway.Core.Routing;
using Gateway.Tests.Infrastructure;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Gateway.Tests.Unit;

/// <summary>
/// No Docker engine runs here, so the deployment files are checked statically: they parse, reference what exists,
/// configure only real gateway keys, wire every collector pipeline, and chart only metrics the gateway exports.
/// </summary>
public sealed partial class DeploymentFileTests
{
    private static readonly YamlMappingNode Compose = Load("compose.yaml");
    private static readonly YamlMappingNode Collector = Load("otel-collector.yaml");

    private static YamlMappingNode Services => (YamlMappingNode)Compose["services"];

    [Fact]
    public void Compose_has_the_whole_system()
    {
        Services.Children.Keys.Select(k => k.ToString()).Should().Contain(
            ["lb", "gateway-1", "gateway-2", "redis", "keycloak", "quotes", "tracking", "contracts", "otel-collector", "prometheus", "grafana", "jaeger", "elasticsearch", "kibana"]);
        Command("redis").Should().Contain("--appendonly").And.Contain("yes");
        // Bounded, and never evicting a revocation to make room.
        var redis = Command("redis");
        redis[redis.IndexOf("--maxmemory") + 1].Should().MatchRegex("^[0-9]+[mg]b$");
        redis[redis.IndexOf("--maxmemory-policy") + 1].Should().Be("noeviction");
    }

    [Fact]
    public void Every_build_context_and_Dockerfile_exists_and_each_Dockerfile_is_multi_stage_and_non_root()
    {
        var builds = Services.Children.Keys.Select(k => Service(k.ToString())).Where(s => s.ContainsKey("build")).ToList();
        builds.Should().HaveCountGreaterThanOrEqualTo(5, "two gateways and three sample services are built here");
        foreach (var build in builds.Select(s => (YamlMappingNode)s["build"]))
        {
            var context = Repo.File(build["context"].ToString());
            Directory.Exists(context).Should().BeTrue();
            var dockerfile = Path.Combine(context, build["dockerfile"].ToString());
            File.Exists(dockerfile).Should().BeTrue(dockerfile);
            var text = File.ReadAllText(dockerfile);
            FromLine().Count(text).Should().BeGreaterThanOrEqualTo(2, $"{dockerfile} is multi-stage");
            text.Should().MatchRegex(@"(?m)^USER \$APP_UID", $"{dockerfile} runs as the image's non-root user");
            text.Should().Contain("aspnet:10.0-alpine", "the runtime stage is the small image");
            text.Should().Contain("EXPOSE 8080");
            foreach (Match copy in CopyLine().Matches(text))
            {
                foreach (var source in copy.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1))
                {
                    Path.Exists(Path.Combine(context, source)).Should().BeTrue($"{dockerfile} copies {source}");
                }
            }
        }
    }

    [Fact]
    public void Every_gateway_setting_in_compose_is_a_real_configuration_key()
    {
        foreach (var name in new[] { "gateway-1", "gateway-2" })
        {
            var environment = Environment(name);
            environment.Should().ContainKey("Gateway__Redis__Configuration");
            foreach (var key in environment.Keys)
            {
                if (key.StartsWith("OTEL_", StringComparison.Ordinal) || key.StartsWith("Serilog__", StringComparison.Ordinal))
                {
                    continue;
                }

                key.Should().StartWith("Gateway__", $"{name}: {key} is not a setting the gateway reads");
                IsGatewayKey(key.Split("__").Skip(1).ToArray()).Should().BeTrue($"{name}: {key} names a real Gateway option");
            }

            // Every cluster address points at a service that exists, on the port its image listens on.
            foreach (var (key, value) in environment.Where(e => e.Key.EndsWith("__Address", StringComparison.Ordinal)))
            {
                var uri = new Uri(value);
                Services.Children.Keys.Select(k => k.ToString()).Should().Contain(uri.Host, key);
                uri.Port.Should().Be(8080, key);
            }

            // And every cluster override names a cluster of the shipped appsettings.json.
            var shipped = File.ReadAllText(Repo.File("Gateway.Api", "appsettings.json"));
            foreach (var cluster in environment.Keys.Where(k => k.StartsWith("Gateway__Clusters__", StringComparison.Ordinal)).Select(k => k.Split("__")[2]))
            {
                shipped.Should().Contain($"\"{cluster}\"");
            }
        }
    }

    [Fact]
    public void Secrets_come_from_the_env_file_and_every_one_is_in_the_example()
    {
        var text = File.ReadAllText(Repo.File("compose.yaml"));
        var required = RequiredVariable().Matches(text).Select(m => m.Groups[1].Value).Distinct().ToList();
        required.Should().Contain(["KEYCLOAK_ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "GATEWAY_CLIENT_SECRET"]);
        var example = File.ReadAllLines(Repo.File(".env.example")).Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#')).Select(l => l.Split('=')[0]).ToList();
        example.Should().Contain(required);
        File.ReadAllText(Repo.File(".gitignore")).Should().MatchRegex(@"(?m)^\.env$");
        var realm = File.ReadAllText(Repo.File("deploy", "keycloak", "realm-gateway.json"));
        realm.Should().NotMatchRegex(@"""(value|secret)"":\s*""(?!\$\{)", "credentials in the realm are placeholders filled from .env");
    }

    [Fact]
    public void Published_host_ports_do_not_clash()
    {
        var ports = Services.Children.Values.OfType<YamlMappingNode>()
            .Where(s => s.Children.ContainsKey("ports"))
            .SelectMany(s => ((YamlSequenceNode)s["ports"]).Children.Select(p => p.ToString().Split(':')[0]))
            .ToList();
        ports.Should().NotBeEmpty().And.OnlyHaveUniqueItems();
    }

    [Fact]
    public void Every_depends_on_names_a_service_and_mounted_files_exist()
    {
        var names = Services.Children.Keys.Select(k => k.ToString()).ToHashSet();
        foreach (var service in names.Select(Service))
        {
            if (service.TryGetValue("depends_on", out var dependsOn))
            {
                ((YamlMappingNode)dependsOn).Children.Keys.Select(k => k.ToString()).Should().BeSubsetOf(names);
            }

            if (service.TryGetValue("volumes", out var volumes))
            {
                foreach (var mount in ((YamlSequenceNode)volumes).Children.Select(v => v.ToString()).Where(v => v.StartsWith("./", StringComparison.Ordinal)))
                {
                    Path.Exists(Repo.File(mount.Split(':')[0][2..])).Should().BeTrue(mount);
                }
            }
        }
    }

    [Fact]
    public void Every_collector_pipeline_names_defined_components_and_sends_each_signal_where_the_issue_says()
    {
        var defined = new Dictionary<string, HashSet<string>>();
        foreach (var kind in new[] { "receivers", "processors", "exporters" })
        {
            defined[kind] = ((YamlMappingNode)Collector[kind]).Children.Keys.Select(k => k.ToString()).ToHashSet();
        }

        var pipelines = (YamlMappingNode)((YamlMappingNode)Collector["service"])["pipelines"];
        pipelines.Children.Keys.Select(k => k.ToString()).Should().BeEquivalentTo(["traces", "metrics", "logs"]);
        foreach (var (name, node) in pipelines.Children)
        {
            var pipeline = (YamlMappingNode)node;
            foreach (var kind in new[] { "receivers", "processors", "exporters" })
            {
                ((YamlSequenceNode)pipeline[kind]).Children.Select(c => c.ToString()).Should().BeSubsetOf(defined[kind], $"{name}.{kind}");
            }

            ((YamlSequenceNode)pipeline["processors"]).Children.Select(c => c.ToString()).Should().StartWith(["memory_limiter"], "the memory limiter comes first").And.Contain("batch");
        }

        Exporters("traces").Should().Contain(e => e.StartsWith("otlp/jaeger", StringComparison.Ordinal));
        Exporters("metrics").Should().Contain("prometheus");
        Exporters("logs").Should().Contain("elasticsearch");

        IEnumerable<string> Exporters(string pipeline) => ((YamlSequenceNode)((YamlMappingNode)pipelines[pipeline])["exporters"]).Children.Select(c => c.ToString());
    }

    [Fact]
    public void The_gateways_send_OTLP_to_the_collectors_http_receiver()
    {
        var endpoint = new Uri(Environment("gateway-1")["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        endpoint.Host.Should().Be("otel-collector");
        var http = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)Collector["receivers"])["otlp"])["protocols"];
        ((YamlMappingNode)http["http"])["endpoint"].ToString().Should().EndWith(":" + endpoint.Port);
    }

    [Fact]
    public void The_Grafana_dashboard_charts_only_metrics_the_gateway_exports_and_the_issue_lists()
    {
        var dashboard = JsonDocument.Parse(File.ReadAllText(Repo.File("deploy", "grafana", "dashboards", "gateway.json"))).RootElement;
        var expressions = dashboard.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!).ToList();
        var exported = ExportedMetricNames();
        var used = expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).Distinct().ToList();
        used.Should().NotBeEmpty();
        foreach (var metric in used)
        {
            exported.Should().Contain(n => metric == n || metric == n + "_bucket" || metric == n + "_count" || metric == n + "_sum", $"{metric} must be a metric the gateway exports");
        }

        used.Should().Contain(["gateway_requests_total", "gateway_request_duration_seconds_bucket", "gateway_errors_total", "gateway_circuit_breaker_state", "gateway_rate_limit_hits_total"]);
    }

    [Fact]
    public async Task Prometheus_config_is_valid_for_promtool_and_scrapes_the_gateways()
    {
        var path = Repo.File("deploy", "prometheus.yml");
        File.ReadAllText(path).Should().Contain("gateway-1:8080").And.Contain("otel-collector:8889");
        // Both streams read at once and the wait bounded: a promtool that hangs or fills its stderr pipe fails the
        // test instead of blocking it.
        await using var promtool = ExternalProcess.Start("promtool", ["check", "config", path]);
        await promtool.WaitForExitAsync(TimeSpan.FromSeconds(30));
        promtool.ExitCode.Should().Be(0, string.Join('\n', promtool.Output));
    }

    [Fact]
    public async Task The_alerting_rules_pass_their_promtool_tests_and_name_only_metrics_the_gateway_exports()
    {
        var rules = File.ReadAllText(Repo.File("deploy", "gateway-rules.yml"));
        File.ReadAllText(Repo.File("deploy", "prometheus.yml")).Should().Contain("- gateway-rules.yml");
        File.ReadAllText(Repo.File("compose.yaml")).Should().Contain("./deploy/gateway-rules.yml:/etc/prometheus/gateway-rules.yml:ro");
        var exported = ExportedMetricNames();
        var used = MetricName().Matches(rules).Select(m => m.Value).Distinct().ToList();
        used.Should().Contain(["gateway_upstream_instance_healthy", "gateway_errors_total", "gateway_config_last_reload_successful"]);
        used.Should().OnlyContain(metric => exported.Contains(metric), "an alert on a metric nobody exports never fires");

        await using var promtool = ExternalProcess.Start("promtool", ["test", "rules", Repo.File("deploy", "gateway-rules.test.yml")]);
        await promtool.WaitForExitAsync(TimeSpan.FromSeconds(30));
        promtool.ExitCode.Should().Be(0, string.Join('\n', promtool.Output));
    }

    /// <summary>Metric names created in Gateway.Core's source (Create*("name")).</summary>
    private static HashSet<string> ExportedMetricNames() =>
        Directory.EnumerateFiles(Repo.File("Gateway.Core"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => InstrumentName().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet();

    private static bool IsGatewayKey(string[] path)
    {
        Type type = typeof(GatewayOptions);
        foreach (var segment in path)
        {
            if (type.IsArray)
            {
                if (!int.TryParse(segment, out _))
                {
                    return false;
                }

                type = type.GetElementType()!;
                continue;
            }

            if (type.IsGenericType && typeof(IDictionary).IsAssignableFrom(type))
            {
                type = type.GetGenericArguments()[1];
                continue;
            }

            var property = type.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null)
            {
                return false;
            }

            type = property.PropertyType;
        }

        return true;
    }

    private static Dictionary<string, string> Environment(string service)
    {
        var environment = (YamlMappingNode)Service(service)["environment"];
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        Flatten(environment, result);
        return result;
    }

    /// <summary>A service's keys with its merge keys (<c>&lt;&lt;: *anchor</c>) applied.</summary>
    private static Dictionary<string, YamlNode> Service(string name)
    {
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        void Merge(YamlMappingNode node)
        {
            foreach (var (key, value) in node.Children)
            {
                if (key.ToString() == "<<" && value is YamlMappingNode merged)
                {
                    Merge(merged);
                }
                else
                {
                    result[key.ToString()] = value;
                }
            }
        }

        Merge((YamlMappingNode)Services[name]);
        return result;
    }

    // Merge keys (<<: *anchor) arrive as a nested mapping under "<<".
    private static void Flatten(YamlMappingNode node, Dictionary<string, string> into)
    {
        foreach (var (key, value) in node.Children)
        {
            if (key.ToString() == "<<" && value is YamlMappingNode merged)
            {
                Flatten(merged, into);
            }
            else
            {
                into[key.ToString()] = value.ToString();
            }
        }
    }

    private static List<string> Command(string service) =>
        ((YamlSequenceNode)Service(service)["command"]).Children.Select(c => c.ToString()).ToList();

    private static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Repo.File(file)));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    [GeneratedRegex(@"(?m)^FROM ")]
    private static partial Regex FromLine();

    [GeneratedRegex(@"(?m)^COPY (?!--from)(.+)$")]
    private static partial Regex CopyLine();

    [GeneratedRegex(@"\$\{([A-Z_]+):\?")]
    private static partial Regex RequiredVariable();

    [GeneratedRegex(@"gateway_[a-z_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"Create(?:Counter|Histogram|ObservableGauge|ObservableCounter|UpDownCounter|Gauge)(?:<\w+>)?\(\s*""(gateway_[a-z_]+)""")]
    private static partial Regex InstrumentName();
}
