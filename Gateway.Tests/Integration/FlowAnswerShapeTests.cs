using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Integration;

/// <summary>
/// The freight flow reads each service's answer as its types say. An answer of the wrong shape is the step's
/// failure (502 naming the step), never the client's 422, never a 500, and nothing of it reaches the next service.
/// </summary>
public sealed class FlowAnswerShapeTests
{
    private const string FlowBody = """{"zip_code_start":"01310-100","zip_code_end":"20040-002","volumes":[{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}],"amount":150,"customer_id":"c-1","selection":"cheapest"}""";
    private const string Service = """{"serviceId":"s-1","carrier":"Carrier","name":"Express","price":10.5,"deliveryDays":3}""";
    private const string Quote = """{"success":true,"data":{"services":[SERVICE]}}""";
    private const string Contract = """{"success":true,"data":{"id":"k-1","number":"N-1"}}""";

    public static TheoryData<string, string, string, int, string?> Answers() => new()
    {
        { "a full flow", Quote, Contract, 200, null },
        { "an explicit empty offer", """{"success":true,"data":{"services":[]}}""", Contract, 422, null },
        { "a quote without data", """{"success":true}""", Contract, 502, "quote" },
        { "a quote without services", """{"success":true,"data":{}}""", Contract, 502, "quote" },
        { "a quote with null services", """{"success":true,"data":{"services":null}}""", Contract, 502, "quote" },
        { "a quote the service says failed", """{"success":false,"data":{"services":[SERVICE]}}""", Contract, 502, "quote" },
        { "a quote that is an array", "[]", Contract, 502, "quote" },
        { "a quote that is a number", "42", Contract, 502, "quote" },
        { "a service without an id", """{"success":true,"data":{"services":[{"price":1,"deliveryDays":1}]}}""", Contract, 502, "quote" },
        { "a service without a price", """{"success":true,"data":{"services":[{"serviceId":"s-1","deliveryDays":1}]}}""", Contract, 502, "quote" },
        { "a contract without an id", Quote, """{"success":true,"data":{"number":"N-1"}}""", 502, "contract" },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task A_service_answer_of_the_wrong_shape_fails_its_step(string name, string quote, string contract, int status, string? step)
    {
        await using var upstream = CannedUpstream.Start(new Dictionary<string, string>
        {
            ["/quotes/calculate"] = Json(quote.Replace("SERVICE", Service, StringComparison.Ordinal)),
            ["/contracts"] = Json(contract),
            // A document with a type only: the optional parts of an answer may be left out.
            ["/contracts/k-1/confirm"] = Json("""{"success":true,"data":{"id":"k-1","status":"confirmed","trackingCode":"T-1","documents":[{"type":"label"}]}}"""),
            ["/tracking"] = Json("""{"success":true,"data":{"code":"T-1","status":"registered"}}"""),
        });
        await using var gateway = await TestGateway.StartAsync(new GatewayConfig()
            .Route("canned", "/canned/{**rest}", "canned", "GET")
            .Cluster("canned", upstream.Address)
            .WithSharedSecret()
            .Set("Gateway:Flows:Freight:QuoteCluster", "canned")
            .Set("Gateway:Flows:Freight:ContractCluster", "canned")
            .Set("Gateway:Flows:Freight:TrackingCluster", "canned"));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/flows/freight")
        {
            Content = new StringContent(FlowBody, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Tokens.Hs256(new { sub = "c-1" }));
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        using var response = await gateway.Client.SendAsync(request);

        ((int)response.StatusCode).Should().Be(status, name);
        if (status != 200)
        {
            var problem = await ProblemAssertions.ShouldBeProblemAsync(response, status);
            if (step is not null)
            {
                problem.GetProperty("step").GetString().Should().Be(step, name);
            }
        }
    }

    private static string Json(string body) =>
        $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
}
