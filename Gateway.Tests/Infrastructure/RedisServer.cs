namespace Gateway.Tests.Infrastructure;

/// <summary>
/// A real redis-server on a free loopback port (test.sh installs the Debian package). Never a mock: the gateway's
/// scripts, TTLs and reconnection are what the tests exercise.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private ExternalProcess? _process;
    private readonly string _directory = Directory.CreateTempSubdirectory("gw-redis-").FullName;

    private RedisServer(int port)
    {
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(int? port = null)
    {
        var server = new RedisServer(port ?? Ports.Free());
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>Starts it again on the same port (after <see cref="StopAsync"/>): "Redis came back".</summary>
    public Task RestartAsync() => StartProcessAsync();

    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
            _process = null;
        }
    }

    public async Task<string> CliAsync(params string[] arguments)
    {
        await using var cli = ExternalProcess.Start("redis-cli", ["-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments]);
        await cli.WaitForExitAsync(TimeSpan.FromSeconds(10));
        return string.Join('\n', cli.Output);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    private async Task StartProcessAsync()
    {
        _process = ExternalProcess.Start("redis-server", ["--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--save", "", "--appendonly", "no", "--dir", _directory]);
        await _process.WaitForLineAsync("Ready to accept connections", TimeSpan.FromSeconds(15));
    }
}
