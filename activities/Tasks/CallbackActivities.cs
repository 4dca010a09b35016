using System.Net;
using System.Net.Sockets;
using System.Text;
using EnvFabric.Core.Tasks;
using Microsoft.DurableTask;

namespace EnvFabric.Activities.Tasks;

/// <summary>The CALLBACK_* settings: attempts, the first retry delay (doubled each time), the per-attempt timeout and the address policy.</summary>
public sealed record CallbackOptions
{
    public int MaxAttempts { get; init; } = 5;

    public int RetrySeconds { get; init; } = 10;

    public int TimeoutSeconds { get; init; } = 10;

    public CallbackAddressPolicy Policy { get; init; } = new();

    /// <summary>The wait before attempt <paramref name="next"/> (2, 3, ...): the retry delay doubled per attempt, at most an hour.</summary>
    public static TimeSpan DelayBefore(int retrySeconds, int next) =>
        TimeSpan.FromSeconds(Math.Min(3600, retrySeconds * Math.Pow(2, Math.Max(0, next - 2))));
}

/// <summary>Signs callback bodies with the namespace's secret (HMAC-SHA256), as <c>sha256=&lt;hex&gt;</c>.</summary>
public interface ICallbackSigner
{
    Task<string> SignAsync(string @namespace, byte[] body, CancellationToken cancellationToken);
}

/// <summary>Seed 002's callback body.</summary>
public sealed record CallbackPayload(string Name, string Uuid, string Runid, string Status, string Message);

/// <summary>Input of the <c>Callback</c> orchestration.</summary>
public sealed record CallbackInput(long TaskId, string ExecutionId, string Url, string Namespace, string Body, int MaxAttempts, int RetrySeconds, int TimeoutSeconds);

/// <summary>One delivery attempt.</summary>
public sealed record SendCallbackRequest(string Url, string Namespace, string Body, string DeliveryId, int Attempt, int TimeoutSeconds);

/// <summary>How an attempt went; <see cref="Permanent"/> when retrying cannot help (a 4xx other than 408 and 429).</summary>
public sealed record CallbackAttemptResult(bool Delivered, int? StatusCode, string? Error, bool Permanent);

/// <summary>The callback state to record on the execution.</summary>
public sealed record RecordCallbackRequest(long TaskId, string ExecutionId, string Status, int Attempts, string? Error);

/// <summary>The callback states of an execution.</summary>
public static class CallbackStatuses
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

/// <summary>
/// The HTTP client of callbacks: no redirects, and every connection checked against the address policy at
/// connect time, so a host name that resolved to a public address at submit cannot be re-pointed at a private one.
/// </summary>
public sealed class CallbackHttp : IDisposable
{
    public CallbackHttp(CallbackOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var policy = options.Policy;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var host = context.DnsEndPoint.Host;
                var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
                var refusals = addresses.Select(a => (Address: a, Refusal: policy.Refusal(a))).ToList();
                var allowed = refusals.Where(r => r.Refusal is null).Select(r => r.Address).ToArray();
                if (allowed.Length == 0)
                {
                    throw new HttpRequestException("callback refused: " + (refusals.FirstOrDefault().Refusal ?? $"{host} does not resolve"));
                }

                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        Client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        Client.DefaultRequestHeaders.UserAgent.ParseAdd("EnvFabric-Callback/1");
    }

    public HttpClient Client { get; }

    public void Dispose() => Client.Dispose();
}

/// <summary>POSTs the callback body once, signed, within the per-attempt timeout.</summary>
public sealed class SendCallbackActivity(CallbackHttp http, ICallbackSigner signer) : TaskActivity<SendCallbackRequest, CallbackAttemptResult>
{
    public const string Name = "SendCallback";

    public const string SignatureHeader = "X-EnvFabric-Signature";

    public override async Task<CallbackAttemptResult> RunAsync(TaskActivityContext context, SendCallbackRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var body = Encoding.UTF8.GetBytes(input.Body);
        using var request = new HttpRequestMessage(HttpMethod.Post, input.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(SignatureHeader, await signer.SignAsync(input.Namespace, body, CancellationToken.None).ConfigureAwait(false));
        request.Headers.Add("X-EnvFabric-Delivery", input.DeliveryId);
        request.Headers.Add("X-EnvFabric-Attempt", input.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(input.TimeoutSeconds));
        try
        {
            using var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return new CallbackAttemptResult(true, code, null, false);
            }

            var permanent = code is >= 400 and < 500 and not (408 or 429);
            return new CallbackAttemptResult(false, code, $"HTTP {code} {response.ReasonPhrase}", permanent);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new CallbackAttemptResult(false, null, $"no answer within {input.TimeoutSeconds} s", false);
        }
        catch (HttpRequestException ex)
        {
            return new CallbackAttemptResult(false, null, ex.Message, false);
        }
    }
}

/// <summary>Writes the callback's state on the execution row.</summary>
public sealed class RecordCallbackActivity(ITaskRepository tasks, TimeProvider time) : TaskActivity<RecordCallbackRequest, bool>
{
    public const string Name = "RecordCallback";

    public override async Task<bool> RunAsync(TaskActivityContext context, RecordCallbackRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var execution = await tasks.GetExecutionAsync(input.TaskId, input.ExecutionId, CancellationToken.None).ConfigureAwait(false);
        if (execution is null)
        {
            return false;
        }

        await tasks.UpsertExecutionAsync(
            execution with { CallbackStatus = input.Status, CallbackAttempts = input.Attempts, CallbackError = input.Error, CallbackAt = time.GetUtcNow() },
            CancellationToken.None).ConfigureAwait(false);
        return true;
    }
}
