// YARP with one route equivalent to the gateway's quotes route: /api/v1/quotes/{**rest} (GET, POST), the
// /api/v1 prefix removed, one destination (UPSTREAM), the same Kestrel defaults (no Server header).
var upstream = Environment.GetEnvironmentVariable("UPSTREAM") ?? "http://127.0.0.1:5101";
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
builder.Services.AddReverseProxy().LoadFromMemory(
    [
        new Yarp.ReverseProxy.Configuration.RouteConfig
        {
            RouteId = "quotes",
            ClusterId = "quote-service",
            Match = new() { Path = "/api/v1/quotes/{**rest}", Methods = ["GET", "POST"] },
            Transforms = [new Dictionary<string, string> { ["PathRemovePrefix"] = "/api/v1" }],
        },
    ],
    [
        new Yarp.ReverseProxy.Configuration.ClusterConfig
        {
            ClusterId = "quote-service",
            Destinations = new Dictionary<string, Yarp.ReverseProxy.Configuration.DestinationConfig>
            {
                ["quotes-1"] = new() { Address = upstream },
            },
        },
    ]);
var app = builder.Build();
app.MapGet("/health/live", () => "ok");
app.MapReverseProxy();
app.Run();
