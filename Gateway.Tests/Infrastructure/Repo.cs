namespace Gateway.Tests.Infrastructure;

/// <summary>Paths of the repository and of the built programs the tests start as real processes.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release, whichever built the tests.</summary>
    public static string Configuration { get; } = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string GatewayDll => Path.Combine(Root, "Gateway.Api", "bin", Configuration, "net10.0", "Gateway.Api.dll");

    public static string UpstreamsDll => Path.Combine(Root, "samples", "Upstreams", "bin", Configuration, "net10.0", "Upstreams.dll");

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !System.IO.File.Exists(Path.Combine(directory.FullName, "Gateway.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Gateway.sln not found above " + AppContext.BaseDirectory);
    }
}
