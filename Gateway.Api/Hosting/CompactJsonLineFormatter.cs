using System.Globalization;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Json;
using Serilog.Parsing;

namespace Gateway.Api.Hosting;

/// <summary>
/// A console line in Serilog's compact JSON format (CLEF: <c>@t</c>, <c>@mt</c>, <c>@r</c>, <c>@l</c>, <c>@x</c>,
/// <c>@tr</c>, <c>@sp</c>, then the properties), which also names the event's trace and span ids <c>TraceId</c> and
/// <c>SpanId</c>. They are written from the event's own ids instead of being added to every event as properties:
/// a property reaches every sink, and the OTLP sink would then send each id twice, once in the record's own field
/// and once as an attribute, at a cost per line that showed in the gateway's throughput.
/// </summary>
internal sealed class CompactJsonLineFormatter : ITextFormatter
{
    private readonly JsonValueFormatter values = new(typeTagName: "$type");

    public void Format(LogEvent logEvent, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(output);
        output.Write("{\"@t\":\"");
        output.Write(logEvent.Timestamp.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        output.Write("\",\"@mt\":");
        JsonValueFormatter.WriteQuotedJsonString(logEvent.MessageTemplate.Text, output);
        WriteRenderings(logEvent, output);

        if (logEvent.Level != LogEventLevel.Information)
        {
            output.Write(",\"@l\":\"");
            output.Write(logEvent.Level.ToString());
            output.Write('"');
        }

        if (logEvent.Exception is { } exception)
        {
            output.Write(",\"@x\":");
            JsonValueFormatter.WriteQuotedJsonString(exception.ToString(), output);
        }

        // Each id is written twice (its CLEF name and its own); its characters are made once, without a string.
        Span<byte> bytes = stackalloc byte[16];
        Span<char> traceChars = stackalloc char[32];
        Span<char> spanChars = stackalloc char[16];
        scoped ReadOnlySpan<char> trace = default, span = default;
        if (logEvent.TraceId is { } traceId)
        {
            traceId.CopyTo(bytes);
            trace = Hex(bytes, traceChars);
            WriteId(output, "@tr", trace);
        }

        if (logEvent.SpanId is { } spanId)
        {
            spanId.CopyTo(bytes[..8]);
            span = Hex(bytes[..8], spanChars);
            WriteId(output, "@sp", span);
        }

        foreach (var (name, value) in logEvent.Properties)
        {
            output.Write(',');
            // CLEF reserves names that start with '@': a property's own is escaped by doubling it.
            JsonValueFormatter.WriteQuotedJsonString(name.StartsWith('@') ? "@" + name : name, output);
            output.Write(':');
            values.Format(value, output);
        }

        // A property of the same name (ASP.NET Core's request scope has them, when its logs are turned on) wins.
        if (!trace.IsEmpty && !logEvent.Properties.ContainsKey("TraceId"))
        {
            WriteId(output, "TraceId", trace);
        }

        if (!span.IsEmpty && !logEvent.Properties.ContainsKey("SpanId"))
        {
            WriteId(output, "SpanId", span);
        }

        output.Write('}');
        output.WriteLine();
    }

    /// <summary>Values whose template token has a format (<c>{Elapsed:0.0}</c>), rendered as the message shows them.</summary>
    private static void WriteRenderings(LogEvent logEvent, TextWriter output)
    {
        var any = false;
        foreach (var token in logEvent.MessageTemplate.Tokens)
        {
            if (token is PropertyToken { Format: not null } property)
            {
                output.Write(any ? "," : ",\"@r\":[");
                any = true;
                using var rendered = new StringWriter(CultureInfo.InvariantCulture);
                property.Render(logEvent.Properties, rendered, CultureInfo.InvariantCulture);
                JsonValueFormatter.WriteQuotedJsonString(rendered.ToString(), output);
            }
        }

        if (any)
        {
            output.Write(']');
        }
    }

    private static ReadOnlySpan<char> Hex(scoped ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        Convert.TryToHexStringLower(bytes, chars, out var written);
        return chars[..written];
    }

    private static void WriteId(TextWriter output, string name, ReadOnlySpan<char> hex)
    {
        output.Write(",\"");
        output.Write(name);
        output.Write("\":\"");
        output.Write(hex);
        output.Write('"');
    }
}
