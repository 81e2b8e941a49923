using System.Globalization;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// A real three-master Redis Cluster on loopback (<c>redis-cli --cluster create</c>), started and stopped by the
/// test: each node a redis-server process of its own, the cluster bus on port + 10000.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly List<ExternalProcess> _nodes = [];
    private readonly string _directory = Directory.CreateTempSubdirectory("gw-redis-cluster-").FullName;

    private RedisCluster(int[] ports)
    {
        Ports = ports;
    }

    public int[] Ports { get; }

    /// <summary>The StackExchange.Redis configuration string: every node, so the client finds the slot map at once.</summary>
    public string Configuration => string.Join(',', Ports.Select(p => $"127.0.0.1:{p}"));

    public static async Task<RedisCluster> StartAsync()
    {
        var cluster = new RedisCluster(FreePortsWithBus(3));
        try
        {
            foreach (var port in cluster.Ports)
            {
                var text = port.ToString(CultureInfo.InvariantCulture);
                var node = ExternalProcess.Start("redis-server", ["--bind", "127.0.0.1", "--port", text, "--cluster-enabled", "yes",
                    "--cluster-config-file", Path.Combine(cluster._directory, $"nodes-{text}.conf"), "--cluster-node-timeout", "2000",
                    "--save", "", "--appendonly", "no", "--dir", cluster._directory]);
                cluster._nodes.Add(node);
                await node.WaitForLineAsync("Ready to accept connections", TimeSpan.FromSeconds(15));
            }

            await using (var create = ExternalProcess.Start("redis-cli", ["--cluster", "create", .. cluster.Ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "0", "--cluster-yes"]))
            {
                await create.WaitForExitAsync(TimeSpan.FromSeconds(30));
            }

            await Poll.UntilAsync(async () => (await CliAsync(cluster.Ports[0], "cluster", "info")).Contains("cluster_state:ok", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "cluster_state:ok");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public static async Task<string> CliAsync(int port, params string[] arguments)
    {
        await using var cli = ExternalProcess.Start("redis-cli", ["-c", "-p", port.ToString(CultureInfo.InvariantCulture), .. arguments]);
        await cli.WaitForExitAsync(TimeSpan.FromSeconds(10));
        return string.Join('\n', cli.Output);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    // Cluster nodes need port and port + 10000 free.
    private static int[] FreePortsWithBus(int count)
    {
        var ports = new List<int>();
        while (ports.Count < count)
        {
            var port = Random.Shared.Next(20000, 45000);
            if (!ports.Contains(port) && IsFree(port) && IsFree(port + 10000))
            {
                ports.Add(port);
            }
        }

        return [.. ports];
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
