namespace Upstreams;

internal sealed record UpstreamOptions(string Host, bool Debug, IReadOnlyList<(string Service, int Port)> Ports)
{
    private static readonly string[] Services = ["quotes", "tracking", "contracts"];

    public static UpstreamOptions Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
        }

        var service = Value("--service", "all");
        var host = Value("--host", "127.0.0.1");
        var debug = args.Contains("--debug-endpoints") || Environment.GetEnvironmentVariable("UPSTREAM_DEBUG") == "1";
        if (service == "all")
        {
            var basePort = int.Parse(Value("--base-port", "5100"), System.Globalization.CultureInfo.InvariantCulture);
            return new(host, debug, Services.Select((s, i) => (s, basePort + i + 1)).ToArray());
        }

        if (!Services.Contains(service))
        {
            throw new ArgumentException($"--service must be one of quotes, tracking, contracts, all (got '{service}').");
        }

        // --port P, or --port P1,P2,... for several instances of one service in one process (the bench's cluster).
        return new(host, debug, Value("--port", "0").Split(',')
            .Select(port => (service, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture))).ToArray());
    }
}
