using System.Text;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Gateway.Api.Hosting;

/// <summary>
/// Log lines to standard output, formatted off the request path and written a batch at a time: the console sink
/// flushes (one <c>write</c> system call) per line, which at one access-log line per request costs more than the
/// request's own logging. Serilog's batching queue is bounded and drops rather than blocks when stdout cannot keep
/// up, so a slow log reader never slows the gateway.
/// </summary>
internal sealed class BatchedConsoleSink(ITextFormatter formatter, Stream output) : IBatchedLogEventSink, IDisposable
{
    private readonly StreamWriter writer = new(output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 64 * 1024) { AutoFlush = false };

    public static BatchedConsoleSink ToStandardOutput(ITextFormatter formatter) => new(formatter, Console.OpenStandardOutput());

    public Task EmitBatchAsync(IReadOnlyCollection<LogEvent> batch)
    {
        foreach (var logEvent in batch)
        {
            formatter.Format(logEvent, writer);
        }

        writer.Flush();
        return Task.CompletedTask;
    }

    public void Dispose() => writer.Dispose();
}
