using System.Runtime.CompilerServices;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// Gives back the thread-pool threads the test platform keeps for itself. For the whole run, vstest's message loop
/// (<c>TcpClientExtensions.MessageLoopAsync</c>) polls its socket on a pool thread, and xunit's VSTest adapter
/// (<c>VsTestRunner.RunTestsInAssembly</c>) blocks one waiting for the run to end. On a 2-core machine those are both
/// of the pool's minimum threads, so every other work item waited for the pool to inject a thread, up to a second at
/// a time: a Redis reply then outlived the client's 250 ms timeout and a rate-limit window ran out mid-test.
/// </summary>
internal static class TestHostThreadPool
{
    private const int ThreadsHeldByTestPlatform = 2;

#pragma warning disable CA2255 // Must run before any test: xunit v2 has no assembly fixture, and the threads are held from the start.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void ReplaceHeldThreads()
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(workers + ThreadsHeldByTestPlatform, completionPorts);
    }
}
