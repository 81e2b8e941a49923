using Upstreams;

// SmartEnvios' quote, tracking and contract services, in memory, each on its own port.
//   --service quotes|tracking|contracts|all   (default all)
//   --port P            one service on P (P1,P2,... several instances of it)
//   --base-port B       all: quotes B+1, tracking B+2, contracts B+3 (default 5100)
//   --host H            default 127.0.0.1
//   --debug-endpoints   (or UPSTREAM_DEBUG=1) echo, delay, status, counts, download, upload, stream, hello
var options = UpstreamOptions.Parse(args);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    foreach (var (_, port) in options.Ports)
    {
        kestrel.Listen(System.Net.IPAddress.Parse(options.Host), port);
    }
});
builder.Services.AddSingleton<RequestCounter>();
builder.Services.AddSingleton<SampleStore>();

var app = builder.Build();
app.UseMiddleware<RequestCounterMiddleware>();
// Pings well inside the gateway's idle limit (100 s by default) keep a quiet live feed open through it.
app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
foreach (var (service, port) in options.Ports)
{
    var group = app.MapGroup(string.Empty).RequireHost($"*:{port}");
    group.MapGet("/health", () => Results.Json(new { status = "healthy", service }));
    switch (service)
    {
        case "quotes":
            QuoteService.Map(group);
            break;
        case "tracking":
            TrackingService.Map(group);
            break;
        case "contracts":
            ContractService.Map(group);
            break;
    }

    if (options.Debug)
    {
        DebugEndpoints.Map(group.MapGroup("/" + service + "/_debug"));
        DebugEndpoints.Map(group.MapGroup("/_debug"));
        if (service == "tracking")
        {
            DebugEndpoints.Map(group.MapGroup("/webhooks/_debug"));
        }
    }
}

app.Lifetime.ApplicationStarted.Register(() =>
    Console.WriteLine("UPSTREAM_READY " + string.Join(' ', options.Ports.Select(p => $"{p.Service}=http://{options.Host}:{p.Port}"))));
app.Run();
