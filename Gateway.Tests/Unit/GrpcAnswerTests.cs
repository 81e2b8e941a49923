using Gateway.Core.Observability;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Unit;

public sealed class GrpcAnswerTests
{
    [Theory]
    [InlineData("The upstream service could not be reached.", "The upstream service could not be reached.")]
    [InlineData("100% sure", "100%25 sure")]
    [InlineData("déjà vu", "d%C3%A9j%C3%A0 vu")]
    [InlineData("two\r\nlines", "two%0D%0Alines")]
    public void A_message_is_percent_encoded_utf8_as_grpc_message_requires(string message, string encoded)
    {
        var value = GrpcAnswer.EncodeMessage(message);

        value.Should().Be(encoded);
        Uri.UnescapeDataString(value).Should().Be(message, "a gRPC client decodes it back to the gateway's words");
    }

    [Theory]
    [InlineData("application/grpc", true, "application/grpc")]
    [InlineData("application/grpc+proto", true, "application/grpc")]
    [InlineData("application/grpc-web+proto", true, "application/grpc-web")]
    [InlineData("application/grpc-web-text", true, "application/grpc-web-text")]
    [InlineData("application/json", false, "application/grpc")]
    public void A_call_is_grpc_by_its_content_type_and_the_answer_keeps_its_kind(string contentType, bool isGrpc, string answered)
    {
        var request = new DefaultHttpContext().Request;
        request.ContentType = contentType;

        GrpcAnswer.IsGrpc(request).Should().Be(isGrpc);
        GrpcAnswer.ResponseContentType(request).Should().Be(answered);
    }

    [Fact]
    public void A_status_outside_grpcs_codes_is_labelled_unknown()
    {
        GrpcAnswer.Label(14).Should().Be(14);
        GrpcAnswer.Label(17).Should().Be(2);
        GrpcAnswer.Label(-1).Should().Be(2);
    }
}
