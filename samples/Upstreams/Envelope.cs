namespace Upstreams;

/// <summary>The seed's response envelope: <c>{ success, data }</c>, or <c>{ success: false, error }</c>.</summary>
internal static class Envelope
{
    public static IResult Ok(object data, int status = StatusCodes.Status200OK) => Results.Json(new { success = true, data }, statusCode: status);

    public static IResult Error(int status, string code, string message) =>
        Results.Json(new { success = false, error = new { code, message } }, statusCode: status);

    /// <summary>Reads a JSON body; malformed or missing → null (the caller answers 400, never 500).</summary>
    public static async Task<T?> ReadAsync<T>(HttpRequest request)
    {
        try
        {
            return await request.ReadFromJsonAsync<T>();
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or BadHttpRequestException)
        {
            return default;
        }
    }
}
