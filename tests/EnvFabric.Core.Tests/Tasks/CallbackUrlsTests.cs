using System.Net;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Tests.Tasks;

public sealed class CallbackUrlsTests
{
    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("93.184.216.34")]
    [InlineData("2606:4700:4700::1111")]
    public void Refusal_PublicAddress_IsAllowed(string address) =>
        Assert.Null(new CallbackAddressPolicy().Refusal(IPAddress.Parse(address)));

    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("172.16.5.4")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.0.10")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("fd12:3456::1")]
    [InlineData("fe80::1")]
    [InlineData("::ffff:10.0.0.1")]
    public void Refusal_PrivateAddress_IsRefusedUnlessAllowed(string address)
    {
        Assert.Contains("CALLBACK_ALLOW_PRIVATE", new CallbackAddressPolicy().Refusal(IPAddress.Parse(address)), StringComparison.Ordinal);
        Assert.Null(new CallbackAddressPolicy(AllowPrivate: true).Refusal(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("172.15.0.1")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    public void Refusal_NeighboursOfPrivateRanges_AreAllowed(string address) =>
        Assert.Null(new CallbackAddressPolicy().Refusal(IPAddress.Parse(address)));

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.9.9.9")]
    [InlineData("::1")]
    public void Refusal_Loopback_FollowsItsSetting(string address)
    {
        Assert.Null(new CallbackAddressPolicy().Refusal(IPAddress.Parse(address)));
        Assert.Contains("CALLBACK_ALLOW_LOOPBACK", new CallbackAddressPolicy(AllowLoopback: false).Refusal(IPAddress.Parse(address)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://example.com/x", "absolute http or https")]
    [InlineData("example.com/x", "absolute http or https")]
    [InlineData("file:///etc/passwd", "absolute http or https")]
    [InlineData("http://a:b@127.0.0.1/x", "credentials")]
    [InlineData("http://10.0.0.1/x", "private")]
    [InlineData("http://[::ffff:192.168.1.1]/x", "private")]
    [InlineData("http://no-such-host.invalid/x", "does not resolve")]
    public async Task RefusalAsync_BadUrl_SaysWhy(string url, string expected) =>
        Assert.Contains(expected, await CallbackUrls.RefusalAsync(url, new CallbackAddressPolicy()), StringComparison.Ordinal);

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("https://localhost/hook?x=1")]
    [InlineData("http://8.8.8.8/hook")]
    public async Task RefusalAsync_GoodUrl_IsNull(string url) =>
        Assert.Null(await CallbackUrls.RefusalAsync(url, new CallbackAddressPolicy()));

    [Fact]
    public async Task RefusalAsync_OverLongUrl_IsRefused() =>
        Assert.Contains("longer than", await CallbackUrls.RefusalAsync("http://127.0.0.1/" + new string('a', 3000), new CallbackAddressPolicy()), StringComparison.Ordinal);
}
