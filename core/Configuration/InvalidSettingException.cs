namespace EnvFabric.Core.Configuration;

/// <summary>
/// A setting whose value cannot be used. The message is one line naming the setting, the value and what is
/// accepted; a process prints it and stops (see <see cref="StartupFailure"/>).
/// </summary>
public sealed class InvalidSettingException : Exception
{
    public InvalidSettingException()
    {
    }

    public InvalidSettingException(string message)
        : base(message)
    {
    }

    public InvalidSettingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
