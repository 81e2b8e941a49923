namespace Gateway.Tests.Infrastructure;

/// <summary>A log file a gateway's Serilog file sink writes, read while the sink still holds it open.</summary>
public static class LogFile
{
    /// <summary>Its lines so far; none before the sink has created it.</summary>
    public static string[] Lines(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }
}
