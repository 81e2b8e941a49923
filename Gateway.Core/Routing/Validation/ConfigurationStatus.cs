namespace Gateway.Core.Routing.Validation;

/// <summary>
/// How the watched configuration stands against the running gateway: whether the last reload was taken, when one
/// last was, and which changed settings wait for the next start (<see cref="ReloadScope"/>). An operator's alert
/// reads it from the metrics (as Prometheus reports its own reloads), a person from <c>GET /admin/configuration</c>.
/// </summary>
public sealed class ConfigurationStatus(TimeProvider time)
{
    private volatile Snapshot _current = new(true, time.GetUtcNow(), [], []);

    /// <param name="LastReloadSuccessful">False while the newest version of the file is one the gateway refused.</param>
    /// <param name="LastSuccessAt">The start, or the last reload that was taken.</param>
    /// <param name="PendingRestart">The settings the file changed that the running gateway keeps as it started with.</param>
    /// <param name="RoutesHeldBecause">Why the file's routes wait for the next start, when they do (<see cref="GatewayRouteTable.TryReplace"/>).</param>
    public sealed record Snapshot(bool LastReloadSuccessful, DateTimeOffset LastSuccessAt, IReadOnlyList<string> PendingRestart, IReadOnlyList<string> RoutesHeldBecause);

    public Snapshot Current => _current;

    internal void Accepted(IReadOnlyList<string> pendingRestart, IReadOnlyList<string> routesHeldBecause) =>
        _current = new(true, time.GetUtcNow(), pendingRestart, routesHeldBecause);

    internal void Refused() => _current = _current with { LastReloadSuccessful = false };
}
