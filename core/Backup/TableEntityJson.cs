using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;

namespace EnvFabric.Core.Backup;

/// <summary>
/// One table entity as one line of JSON, with every property's EDM type kept, so a restore writes back exactly
/// the types that were read:
/// <c>{"PartitionKey":"p","RowKey":"r","Timestamp":"...","Properties":{"Name":{"Type":"Edm.String","Value":"x"}}}</c>.
/// Values that JSON numbers would round (Int64, Double) and values without a JSON form (binary, NaN) are strings:
/// Int64 in decimal, Double in round-trip form (<c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c> included), Binary in
/// base64, DateTime as ISO 8601 with offset, Guid as <c>D</c> form. The <c>Timestamp</c> is informational: the service
/// sets it on every write, so it cannot be restored.
/// </summary>
public static class TableEntityJson
{
    // The EDM type names, as the Table service's OData spells them.
    private const string EdmString = "Edm.String";
    private const string EdmInt32 = "Edm.Int32";
    private const string EdmInt64 = "Edm.Int64";
    private const string EdmDouble = "Edm.Double";
    private const string EdmBoolean = "Edm.Boolean";
    private const string EdmDateTime = "Edm.DateTime";
    private const string EdmGuid = "Edm.Guid";
    private const string EdmBinary = "Edm.Binary";

    /// <summary>Writes <paramref name="entity"/> as one line (no line break in it).</summary>
    /// <exception cref="NotSupportedException">A property value has a type the Table service does not store.</exception>
    public static string Serialize(TableEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("PartitionKey", entity.PartitionKey);
            json.WriteString("RowKey", entity.RowKey);
            if (entity.Timestamp is { } timestamp)
            {
                json.WriteString("Timestamp", timestamp.ToString("O", CultureInfo.InvariantCulture));
            }

            json.WriteStartObject("Properties");
            foreach (var (name, value) in entity.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (name is "PartitionKey" or "RowKey" or "Timestamp" or "odata.etag" || value is null)
                {
                    continue;
                }

                var (type, text) = Encode(name, value);
                json.WriteStartObject(name);
                json.WriteString("Type", type);
                if (type is EdmInt32)
                {
                    json.WriteNumber("Value", (int)value);
                }
                else if (type is EdmBoolean)
                {
                    json.WriteBoolean("Value", (bool)value);
                }
                else
                {
                    json.WriteString("Value", text);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads one line written by <see cref="Serialize"/>; the entity has no ETag and no Timestamp.</summary>
    /// <exception cref="FormatException">The line is not such an entity; the message says what is wrong.</exception>
    public static TableEntity Deserialize(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            throw new FormatException("not JSON: " + ex.Message, ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("an entity must be a JSON object");
            }

            var entity = new TableEntity(RequiredString(root, "PartitionKey"), RequiredString(root, "RowKey"));
            if (!root.TryGetProperty("Properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("the entity has no \"Properties\" object");
            }

            foreach (var property in properties.EnumerateObject())
            {
                if (property.Name is "PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")
                {
                    throw new FormatException($"property '{property.Name}' is a system property");
                }

                if (property.Value.ValueKind != JsonValueKind.Object
                    || !property.Value.TryGetProperty("Type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String
                    || !property.Value.TryGetProperty("Value", out var valueElement))
                {
                    throw new FormatException($"property '{property.Name}' needs \"Type\" and \"Value\"");
                }

                entity[property.Name] = Decode(property.Name, typeElement.GetString()!, valueElement);
            }

            return entity;
        }
    }

    private static (string Type, string? Text) Encode(string name, object value) => value switch
    {
        string s => (EdmString, s),
        int => (EdmInt32, null),
        long l => (EdmInt64, l.ToString(CultureInfo.InvariantCulture)),
        double d => (EdmDouble, d.ToString("R", CultureInfo.InvariantCulture)),
        bool => (EdmBoolean, null),
        DateTimeOffset at => (EdmDateTime, at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)),
        DateTime at => (EdmDateTime, new DateTimeOffset(at.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(at, DateTimeKind.Utc) : at).ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)),
        Guid g => (EdmGuid, g.ToString("D")),
        byte[] bytes => (EdmBinary, Convert.ToBase64String(bytes)),
        BinaryData data => (EdmBinary, Convert.ToBase64String(data.ToArray())),
        _ => throw new NotSupportedException($"property '{name}' has a value of type {value.GetType().Name}, which a table does not store"),
    };

    private static object Decode(string name, string type, JsonElement value)
    {
        try
        {
            return type switch
            {
                EdmString => Text(value),
                EdmInt32 => value.ValueKind == JsonValueKind.Number ? value.GetInt32() : throw Wrong(),
                EdmInt64 => long.Parse(Text(value), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
                EdmDouble => double.Parse(Text(value), NumberStyles.Float, CultureInfo.InvariantCulture),
                EdmBoolean => value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : throw Wrong(),
                EdmDateTime => DateTimeOffset.ParseExact(Text(value), "O", CultureInfo.InvariantCulture, DateTimeStyles.None),
                EdmGuid => Guid.ParseExact(Text(value), "D"),
                EdmBinary => Convert.FromBase64String(Text(value)),
                _ => throw new FormatException($"property '{name}' has an unknown type '{type}'"),
            };
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidOperationException)
        {
            throw ex is FormatException { InnerException: null } && ex.Message.StartsWith("property '", StringComparison.Ordinal)
                ? ex
                : new FormatException($"property '{name}': the value is not a valid {type}", ex);
        }

        FormatException Wrong() => new($"property '{name}': the value is not a valid {type}");
    }

    private static string Text(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new FormatException("expected a string value");

    private static string RequiredString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new FormatException($"the entity has no string \"{name}\"");
}
