using System.Globalization;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// The built gateway (Gateway.Api.dll) as a process of its own, configured only through environment variables
/// (the same keys as appsettings.json, <c>:</c> written <c>__</c>): for what an in-process host cannot show, such as
/// the process' own memory or its console log.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private static readonly string EmptyConfig = WriteEmptyConfig();
    private readonly ExternalProcess _process;

    private GatewayProcess(ExternalProcess process, int port)
    {
        _process = process;
        Address = new Uri($"http://127.0.0.1:{port}");
        Client = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    public int Pid => _process.Pid;

    /// <summary>Every line it wrote to stdout and stderr so far.</summary>
    public IReadOnlyCollection<string> Output => _process.Output;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Sends the stop signal (SIGTERM) without waiting for the process to end.</summary>
    public void Terminate() => _process.Terminate();

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>The status a request gets (a GET unless another method is given), its body read and dropped.</summary>
    public async Task<System.Net.HttpStatusCode> StatusAsync(string path, HttpMethod? method = null)
    {
        using var response = await Client.SendAsync(new HttpRequestMessage(method ?? HttpMethod.Get, path));
        return response.StatusCode;
    }

    public static async Task<GatewayProcess> StartAsync(GatewayConfig config, IDictionary<string, string>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var port = Ports.Free();
        var env = new Dictionary<string, string>
        {
            ["GATEWAY_CONFIG"] = EmptyConfig,
            // An endpoint of Kestrel's configuration, not Urls (which any such endpoint replaces): a test may add others.
            ["Kestrel__Endpoints__web__Url"] = $"http://127.0.0.1:{port}",
            ["DOTNET_gcServer"] = "0",
            // Configuration files unwatched, as in TestGateway: inotify instances are a per-user limit (128).
            ["DOTNET_hostBuilder__reloadConfigOnChange"] = "false",
        };
        foreach (var (key, value) in config.Settings)
        {
            env[key.Replace(":", "__", StringComparison.Ordinal)] = value ?? string.Empty;
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        var process = ExternalProcess.Start("dotnet", [Repo.GatewayDll], env);
        var gateway = new GatewayProcess(process, port);
        try
        {
            await Poll.UntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException("The gateway exited:\n" + string.Join('\n', process.Output.TakeLast(20)));
                }

                using var response = await gateway.Client.GetAsync("/health/live");
                return response.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(30), "the gateway process to answer /health/live");
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }

        return gateway;
    }

    /// <summary>A field of /proc/PID/status in kB, e.g. VmHWM (peak resident set) or VmRSS.</summary>
    public long StatusKb(string field)
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.DisposeAsync();
    }

    private static string WriteEmptyConfig()
    {
        var path = Path.Combine(Path.GetTempPath(), "gateway-process-empty.json");
        File.WriteAllText(path, "{}");
        return path;
    }
}
