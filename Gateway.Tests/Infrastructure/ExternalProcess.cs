using System.Collections.Concurrent;
using System.Diagnostics;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// A real program the tests start (gateway, sample upstreams, redis-server, node peers), with its output captured.
/// Disposing ends it by its own PID, and only it.
/// </summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private Task[] _readers = [];

    private ExternalProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IReadOnlyCollection<string> Output => _lines;

    public static ExternalProcess Start(string fileName, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repo.Root,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var wrapper = new ExternalProcess(process);
        process.Start();
        wrapper._readers = [wrapper.ReadLines(process.StandardOutput), wrapper.ReadLines(process.StandardError)];
        return wrapper;
    }

    /// <summary>
    /// Reads a stream on a thread of its own (a long-running task). Not <c>BeginOutputReadLine</c>: on Linux it reads
    /// the pipe with a blocking call on a thread-pool thread for the life of the process (dotnet/runtime#81896), and
    /// a test often has a redis-server, a node peer and a gateway or two alive. The pool is what the in-process
    /// gateways and the Redis client run on; see <see cref="TestHostThreadPool"/> for what starving it did.
    /// </summary>
    private Task ReadLines(StreamReader reader) => Task.Factory.StartNew(() =>
    {
        try
        {
            while (reader.ReadLine() is { } line)
            {
                _lines.Enqueue(line);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The process was disposed of while a grandchild still held the pipe: nothing more to read.
        }
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Waits for a line containing <paramref name="marker"/> and returns it.</summary>
    public async Task<string> WaitForLineAsync(string marker, TimeSpan timeout)
    {
        string? found = null;
        await Poll.UntilAsync(() =>
        {
            found = _lines.FirstOrDefault(l => l.Contains(marker, StringComparison.Ordinal));
            if (found is null && _process.HasExited)
            {
                throw new InvalidOperationException($"{_process.StartInfo.FileName} exited ({_process.ExitCode}) before '{marker}':\n{string.Join('\n', _lines.TakeLast(30))}");
            }

            return found is not null;
        }, timeout, $"'{marker}' from {_process.StartInfo.FileName}");
        return found!;
    }

    /// <summary>
    /// Waits for the process to end and for its output to be read to the end: <see cref="HasExited"/> turns true
    /// before the last lines have reached <see cref="Output"/>.
    /// </summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        await Task.WhenAll(_readers).WaitAsync(deadline.Token);
    }

    /// <summary>Sends SIGTERM, the stop signal a container runtime sends, and returns without waiting.</summary>
    public void Terminate() =>
        Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();

    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        try
        {
            // SIGTERM first (graceful), then SIGKILL if it does not go within the deadline.
            Terminate();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }
}
