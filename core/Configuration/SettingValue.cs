using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace EnvFabric.Core.Configuration;

/// <summary>
/// Parses one setting's text into its property type. Booleans take pip's forms, case-insensitively (pip reads
/// <c>PIP_NO_INDEX=1</c>, so users write it); a value that does not parse, or that its property's validation
/// attributes refuse, is an <see cref="InvalidSettingException"/> naming the setting.
/// </summary>
public static class SettingValue
{
    /// <summary>The boolean forms accepted, as a message shows them.</summary>
    public const string BooleanForms = "1/0, true/false, yes/no, on/off";

    /// <summary>Reads pip's boolean forms: <c>1/0</c>, <c>true/false</c>, <c>yes/no</c>, <c>on/off</c>, any case.</summary>
    public static bool TryParseBoolean(string? text, out bool value)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "1" or "TRUE" or "YES" or "ON":
                value = true;
                return true;
            case "0" or "FALSE" or "NO" or "OFF":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    /// <summary>
    /// Parses <paramref name="text"/> for <paramref name="property"/> and checks the property's validation
    /// attributes; <paramref name="label"/> names the setting in the message (<c>Setting PIP_NO_INDEX</c>).
    /// </summary>
    public static object? Parse(string label, string text, PropertyInfo property)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(property);
        var value = Parse(label, text, property.PropertyType);
        foreach (var attribute in property.GetCustomAttributes<ValidationAttribute>())
        {
            if (!attribute.IsValid(value))
            {
                var reason = attribute is RangeAttribute range
                    ? $"is out of range (use {range.Minimum} to {range.Maximum})"
                    : $"is not accepted ({attribute.FormatErrorMessage(property.Name)})";
                throw new InvalidSettingException($"{label}: '{text}' {reason}");
            }
        }

        return value;
    }

    /// <summary>Parses <paramref name="text"/> as <paramref name="type"/> (string, bool, int, long, double, TimeSpan, or nullable ones).</summary>
    public static object? Parse(string label, string text, Type type)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(type);
        var target = Nullable.GetUnderlyingType(type) ?? type;
        var trimmed = text.Trim();
        var invariant = CultureInfo.InvariantCulture;
        if (target == typeof(string))
        {
            return text;
        }

        if (target == typeof(bool))
        {
            return TryParseBoolean(trimmed, out var flag) ? flag : throw Refused($"is not a boolean (use {BooleanForms})");
        }

        if (target == typeof(int))
        {
            return int.TryParse(trimmed, NumberStyles.Integer, invariant, out var number) ? number : throw Refused("is not a whole number");
        }

        if (target == typeof(long))
        {
            return long.TryParse(trimmed, NumberStyles.Integer, invariant, out var number) ? number : throw Refused("is not a whole number");
        }

        if (target == typeof(double))
        {
            return double.TryParse(trimmed, NumberStyles.Float, invariant, out var number) && double.IsFinite(number) ? number : throw Refused("is not a number");
        }

        if (target == typeof(TimeSpan))
        {
            return TimeSpan.TryParse(trimmed, invariant, out var span) ? span : throw Refused("is not a time span (use hh:mm:ss)");
        }

        throw new NotSupportedException($"{label}: settings of type {target.Name} are not supported");

        InvalidSettingException Refused(string reason) => new($"{label}: '{text}' {reason}");
    }

    /// <summary>
    /// The whole-number setting <paramref name="name"/>, or <paramref name="fallback"/> when it is unset or empty;
    /// a value that is not a whole number or lies outside <paramref name="min"/>..<paramref name="max"/> is an
    /// <see cref="InvalidSettingException"/> naming the setting and the range.
    /// </summary>
    public static int ReadInt(IConfiguration configuration, string name, int fallback, int min, int max)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (configuration[name] is not { Length: > 0 } text)
        {
            return fallback;
        }

        var value = (int)Parse("Setting " + name, text, typeof(int))!;
        return value < min || value > max ? throw new InvalidSettingException($"Setting {name}: '{text}' is out of range (use {min} to {max})") : value;
    }

    /// <summary>The boolean setting <paramref name="name"/> in pip's forms, or <paramref name="fallback"/> when unset or empty.</summary>
    public static bool ReadBool(IConfiguration configuration, string name, bool fallback)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration[name] is { Length: > 0 } text ? (bool)Parse("Setting " + name, text, typeof(bool))! : fallback;
    }
}
