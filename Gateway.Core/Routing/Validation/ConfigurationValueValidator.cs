using System.ComponentModel;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Routing.Validation;

/// <summary>
/// Every value under the Gateway section converts to the type its key binds to. The configuration binder drops a
/// dictionary element whole when one of its values does not convert: a route with <c>Timeout: "abc"</c> vanished
/// and its paths answered 404, a cluster with an unknown load-balancing policy was reported as "not defined". This
/// check names the key and the value instead. It converts as the binder does, with the type's TypeConverter in the
/// invariant culture; an empty value binds to nothing and is left to the other validators.
/// </summary>
public sealed class ConfigurationValueValidator(IConfigurationSection section) : IValidateOptions<GatewayOptions>
{
    private const int ShownValueLength = 64;

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        Check(section, typeof(GatewayOptions), errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Check(IConfigurationSection section, Type type, List<string> errors)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (ElementType(type) is { } element)
        {
            foreach (var child in section.GetChildren())
            {
                Check(child, element, errors);
            }

            return;
        }

        if (IsScalar(type))
        {
            if (section.Value is { Length: > 0 } value && !Converts(value, type))
            {
                errors.Add($"{section.Path}: '{Shown(value)}' is not {Expected(type)}.");
            }

            return;
        }

        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        foreach (var child in section.GetChildren())
        {
            // Keys the options do not have are not bound either; leaving them alone is the binder's rule too.
            if (Array.Find(properties, p => p.Name.Equals(child.Key, StringComparison.OrdinalIgnoreCase)) is { } property)
            {
                Check(child, property.PropertyType, errors);
            }
        }
    }

    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        var arguments = type.GetGenericArguments();
        return definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>)
            ? arguments[1]
            : definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(IReadOnlyList<>) || definition == typeof(IEnumerable<>)
                ? arguments[0]
                : null;
    }

    private static bool IsScalar(Type type) => type == typeof(string) || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));

    private static bool Converts(string value, Type type)
    {
        if (type == typeof(string))
        {
            return true;
        }

        try
        {
            var converted = TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            // An enum converter takes any number; only a named member is a setting, or for flags a list of them.
            return !type.IsEnum || (converted is not null && (IsFlags(type)
                ? value.Split(',', StringSplitOptions.TrimEntries).All(name => Enum.GetNames(type).Contains(name, StringComparer.OrdinalIgnoreCase))
                : Enum.IsDefined(type, converted)));
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or NotSupportedException or OverflowException or InvalidCastException)
        {
            return false;
        }
    }

    private static bool IsFlags(Type type) => type.IsDefined(typeof(FlagsAttribute), inherit: false);

    private static string Expected(Type type) => type switch
    {
        _ when type.IsEnum && IsFlags(type) => "one or more of " + string.Join(", ", Enum.GetNames(type)) + ", separated by commas",
        _ when type.IsEnum => "one of " + string.Join(", ", Enum.GetNames(type)),
        _ when type == typeof(TimeSpan) => "a duration such as 00:00:30",
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(int) || type == typeof(long) => "a whole number",
        _ when type == typeof(double) => "a number",
        _ => "a valid " + type.Name,
    };

    private static string Shown(string value) =>
        value.Length <= ShownValueLength ? value : string.Concat(value.AsSpan(0, ShownValueLength), "…");
}
