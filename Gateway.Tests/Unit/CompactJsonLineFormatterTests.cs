using System.Diagnostics;
using System.Text.Json;
using FluentAssertions;
using Gateway.Api.Hosting;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Serilog.Parsing;
using Xunit;

namespace Gateway.Tests.Unit;

/// <summary>
/// The console line is Serilog's compact JSON, member for member, with the event's trace and span ids also named
/// <c>TraceId</c> and <c>SpanId</c>.
/// </summary>
public sealed class CompactJsonLineFormatterTests
{
    private static readonly ActivityTraceId Trace = ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c");
    private static readonly ActivitySpanId Span = ActivitySpanId.CreateFromString("b7ad6b7169203331");

    [Theory]
    [InlineData(LogEventLevel.Information, false)]
    [InlineData(LogEventLevel.Warning, false)]
    [InlineData(LogEventLevel.Error, true)]
    public void A_line_has_every_member_of_the_compact_format_and_the_ids_by_name(LogEventLevel level, bool withException)
    {
        var logEvent = Event(level, "{Method} {Path} took {ElapsedMs:0.0} ms at {Load:0%}", withException ? new InvalidOperationException("boom \"quoted\"") : null,
            ("Method", new ScalarValue("GET")), ("Path", new ScalarValue("/api/v1/quotes/\u00e9t\u00e9")), ("ElapsedMs", new ScalarValue(1.25)), ("Load", new ScalarValue(0.5)),
            ("@odd", new ScalarValue(7)),
            ("EventId", new StructureValue([new LogEventProperty("Id", new ScalarValue(5000)), new LogEventProperty("Name", new ScalarValue("AccessLog"))])));

        var line = Format(new CompactJsonLineFormatter(), logEvent);
        var compact = Format(new CompactJsonFormatter(), logEvent);

        line.Should().EndWith("\n");
        line[..^1].Should().NotContain("\n", "one event is one line");
        using var ours = JsonDocument.Parse(line);
        using var theirs = JsonDocument.Parse(compact);
        var members = ours.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText());
        var expected = theirs.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText());
        expected.Should().ContainKeys("@t", "@mt", "@r", "@tr", "@sp", "@@odd", "EventId");
        members.Should().HaveCount(expected.Count + 2);
        members.Should().Contain(expected);
        members["TraceId"].Should().Be("\"0af7651916cd43dd8448eb211c80319c\"");
        members["SpanId"].Should().Be("\"b7ad6b7169203331\"");
    }

    [Fact]
    public void A_property_of_the_same_name_is_written_once_and_an_event_outside_a_trace_has_no_ids()
    {
        var scoped = Event(LogEventLevel.Information, "Request {RequestPath}", null, ("TraceId", new ScalarValue("from-the-scope")));
        using var withScope = JsonDocument.Parse(Format(new CompactJsonLineFormatter(), scoped));
        withScope.RootElement.EnumerateObject().Count(p => p.Name == "TraceId").Should().Be(1);
        withScope.RootElement.GetProperty("TraceId").GetString().Should().Be("from-the-scope");
        withScope.RootElement.GetProperty("SpanId").GetString().Should().Be("b7ad6b7169203331");

        var untraced = new LogEvent(DateTimeOffset.UnixEpoch, LogEventLevel.Information, null, new MessageTemplateParser().Parse("Started"), []);
        using var withoutTrace = JsonDocument.Parse(Format(new CompactJsonLineFormatter(), untraced));
        withoutTrace.RootElement.TryGetProperty("TraceId", out _).Should().BeFalse();
        withoutTrace.RootElement.TryGetProperty("@tr", out _).Should().BeFalse();
    }

    private static LogEvent Event(LogEventLevel level, string template, Exception? exception, params (string Name, LogEventPropertyValue Value)[] properties) =>
        new(new DateTimeOffset(2026, 11, 25, 3, 4, 5, 678, TimeSpan.Zero), level, exception, new MessageTemplateParser().Parse(template),
            properties.Select(p => new LogEventProperty(p.Name, p.Value)), Trace, Span);

    private static string Format(Serilog.Formatting.ITextFormatter formatter, LogEvent logEvent)
    {
        using var output = new StringWriter();
        formatter.Format(logEvent, output);
        return output.ToString().ReplaceLineEndings("\n");
    }
}
