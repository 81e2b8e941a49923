using Gateway.Api;

await GatewayApplication.Build(args).RunAsync();
