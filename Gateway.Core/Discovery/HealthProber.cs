using Microsoft.Extensions.Hosting;

namespace Gateway.Core.Discovery;

/// <summary>
/// Probes every instance's health path in the background, per cluster on its own interval. Each probe runs on
/// its own with its own timeout, so a hanging instance never delays the probes of others, and the request path
/// never waits for a probe.
/// </summary>
public sealed class HealthProber(ServiceRegistry registry, IHttpClientFactory clientFactory) : BackgroundService
{
    /// <summary>The cluster's probe client: its own pool, over the cluster's connection settings (TLS included).</summary>
    public const string ClientPrefix = "gateway-health-probe:";

    /// <summary>The probes' client for the cluster's connection settings as they are now (see <see cref="ServiceCluster.ConnectionsGeneration"/>).</summary>
    internal static string ClientName(ServiceCluster cluster) => ServiceCluster.ClientName(ClientPrefix, cluster.Id, cluster.ConnectionsGeneration);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var probing = new Dictionary<string, Task>(StringComparer.OrdinalIgnoreCase);
        void Start(ServiceCluster cluster)
        {
            lock (probing)
            {
                if (!probing.ContainsKey(cluster.Id))
                {
                    probing[cluster.Id] = ProbeClusterAsync(cluster, stoppingToken);
                }
            }
        }

        // Subscribed before the clusters are read, so one a reload adds meanwhile is not missed (nor probed twice).
        registry.ClusterAdded += Start;
        try
        {
            foreach (var cluster in registry.Clusters)
            {
                Start(cluster);
            }

            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (stoppingToken.Register(() => stopped.TrySetResult()))
            {
                await stopped.Task;
            }
        }
        finally
        {
            registry.ClusterAdded -= Start;
        }

        Task[] loops;
        lock (probing)
        {
            loops = [.. probing.Values];
        }

        await Task.WhenAll(loops);
    }

    private async Task ProbeClusterAsync(ServiceCluster cluster, CancellationToken stoppingToken)
    {
        var inProgress = new HashSet<ServiceInstance>();
        using var timer = new PeriodicTimer(cluster.Config.HealthCheck.Interval);
        do
        {
            // Follows a reloaded interval without restarting the loop.
            timer.Period = cluster.Config.HealthCheck.Interval;
            if (!cluster.Config.HealthCheck.Enabled)
            {
                continue;
            }

            foreach (var instance in cluster.Instances)
            {
                lock (inProgress)
                {
                    // Still waiting on the previous probe of this one: it answers for both.
                    if (!inProgress.Add(instance))
                    {
                        continue;
                    }
                }

                _ = ProbeAsync(cluster, instance, inProgress, stoppingToken);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task ProbeAsync(ServiceCluster cluster, ServiceInstance instance, HashSet<ServiceInstance> inProgress, CancellationToken stoppingToken)
    {
        var health = cluster.Config.HealthCheck;
        bool success;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(health.Timeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, instance.BuildUri(health.Path));
            if (cluster.Config.IsHttp2)
            {
                Forwarding.UpstreamProtocol.UseHttp2(request, acceptsTrailers: false);
            }

            using var response = await clientFactory.CreateClient(ClientName(cluster))
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            success = response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            success = false;
        }
        finally
        {
            lock (inProgress)
            {
                inProgress.Remove(instance);
            }
        }

        if (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        if (instance.Record(success, health.UnhealthyThreshold, health.HealthyThreshold, isProbe: true) is { } changed)
        {
            registry.ReportStatusChange(cluster, instance, changed, success ? "probe succeeded" : "probe failed");
        }
    }
}
