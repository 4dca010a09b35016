using EnvFabric.Functions.Auth;

namespace EnvFabric.Functions.Tests;

public sealed class AuthNamespaceAccessTests
{
    private static readonly System.Security.Claims.ClaimsPrincipal Admin = new KeyIdentity("ops", KeyRoles.Admin, "default", "1").ToPrincipal("test");
    private static readonly System.Security.Claims.ClaimsPrincipal UserA = new KeyIdentity("bot", KeyRoles.User, "team-a", "2").ToPrincipal("test");
    private static readonly System.Security.Claims.ClaimsPrincipal DefaultUser = new KeyIdentity("dflt", KeyRoles.User, "default", "3").ToPrincipal("test");

    [Theory]
    [InlineData("team-a", true)]
    [InlineData("team-b", false)]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("TEAM-A", false)]
    public void CanAct_UserKey_OnlyInItsNamespace(string? objectNamespace, bool expected) =>
        Assert.Equal(expected, NamespaceAccess.CanAct(UserA, objectNamespace));

    [Theory]
    [InlineData("team-a")]
    [InlineData("anything")]
    [InlineData(null)]
    public void CanAct_AdminKey_Everywhere(string? objectNamespace) =>
        Assert.True(NamespaceAccess.CanAct(Admin, objectNamespace));

    [Fact]
    public void CanAct_ObjectWithoutNamespace_BelongsToDefault() =>
        Assert.True(NamespaceAccess.CanAct(DefaultUser, null));

    [Fact]
    public void CanAct_Anonymous_Never() =>
        Assert.False(NamespaceAccess.CanAct(new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity()), "default"));

    [Theory]
    [InlineData(null, "team-a")]
    [InlineData("team-a", "team-a")]
    [InlineData("team-b", null)]
    public void NamespaceForNew_UserKey_OwnNamespaceOnly(string? requested, string? expected) =>
        Assert.Equal(expected, NamespaceAccess.NamespaceForNew(UserA, requested));

    [Theory]
    [InlineData(null, "default")]
    [InlineData("team-b", "team-b")]
    public void NamespaceForNew_AdminKey_RequestedOrDefault(string? requested, string expected) =>
        Assert.Equal(expected, NamespaceAccess.NamespaceForNew(Admin, requested));
}
