using System.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace Gateway.Core.Observability;

/// <summary>
/// Where no traces are exported, the request still needs its server activity: its trace id is returned in
/// <c>X-Trace-ID</c>, written in every log line, and continued upstream. ASP.NET Core creates that activity only
/// for a listener (or when its hosting logger is on, which also opens a logging scope per request). This listener
/// asks for propagation data only, so nothing is recorded, and keeps a caller's "sampled" flag, so a trace the
/// client records stays recorded downstream.
/// </summary>
public sealed class PropagationOnlyTracing : IHostedService, IDisposable
{
    private const string AspNetCoreSource = "Microsoft.AspNetCore";

    private readonly ActivityListener listener = new()
    {
        ShouldListenTo = static source => source.Name == AspNetCoreSource,
        Sample = static (ref ActivityCreationOptions<ActivityContext> options) =>
            (options.Parent.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.PropagationData,
    };

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ActivitySource.AddActivityListener(listener);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => listener.Dispose();
}
