namespace EnvFabric.Functions.Http;

/// <summary>Seed 002's success envelope: <c>{code: "0", message: "OK", success: true, data}</c>.</summary>
public sealed record V2Envelope<T>(T Data)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-3)]
    public string Code => V2Codes.Ok;

    [System.Text.Json.Serialization.JsonPropertyOrder(-2)]
    public string Message => "OK";

    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public bool Success => true;
}

/// <summary>Builders of seed 002 answers.</summary>
public static class V2Results
{
    public static IResult Ok<T>(T data, int status = StatusCodes.Status200OK) => TypedResults.Json(new V2Envelope<T>(data), statusCode: status);

    /// <summary>A 1001 (parameter error) with 400.</summary>
    public static IResult Invalid(string message) => ErrorBodies.V2(StatusCodes.Status400BadRequest, V2Codes.InvalidArgument, message);

    /// <summary>A query's whole number in [<paramref name="min"/>, <paramref name="max"/>]: <paramref name="absent"/> when not given, null when not valid.</summary>
    public static int? ReadWholeNumber(string? text, int min, int max, int absent)
    {
        if (string.IsNullOrEmpty(text))
        {
            return absent;
        }

        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value : null;
    }
}
