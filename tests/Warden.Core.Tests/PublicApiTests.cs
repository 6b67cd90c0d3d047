using System.Reflection;
using System.Text;

namespace Warden.Core.Tests;

/// <summary>
/// Fixes Warden.Core's public surface, as Serilog's approval test does: a change to it shows up
/// here as a diff to review. Run the tests, inspect PublicApi.received.txt, and copy it over
/// PublicApi.approved.txt when the change is intended.
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void The_public_api_is_the_approved_one()
    {
        var actual = Describe(typeof(Policy).Assembly);
        var directory = Path.GetDirectoryName(Examples.Directory)!;
        var approvedPath = Path.Combine(directory, "..", "tests", "Warden.Core.Tests", "PublicApi.approved.txt");
        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : "";
        if (approved != actual)
        {
            File.WriteAllText(Path.ChangeExtension(approvedPath, null).Replace(".approved", ".received") + ".txt", actual);
        }

        Assert.Equal(approved, actual);
    }

    private static string Describe(Assembly assembly)
    {
        var text = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            text.Append(Kind(type)).Append(' ').Append(Name(type)).Append('\n');
            var members = type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Where(m => m is not MethodInfo { IsSpecialName: true } and not FieldInfo { IsSpecialName: true } && !IsCompilerGenerated(m))
                .Select(Member)
                .Order(StringComparer.Ordinal);
            foreach (var member in members)
            {
                text.Append("  ").Append(member).Append('\n');
            }
        }

        return text.ToString();
    }

    private static bool IsCompilerGenerated(MemberInfo member) =>
        member.Name is "<Clone>$" or "EqualityContract" or "Deconstruct" or "PrintMembers" || member.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute));

    private static string Kind(Type type) => type switch
    {
        { IsEnum: true } => "enum",
        { IsInterface: true } => "interface",
        { IsValueType: true } => "struct",
        { IsAbstract: true, IsSealed: true } => "static class",
        { IsSealed: true } => "sealed class",
        _ => "class",
    };

    private static string Member(MemberInfo member) => member switch
    {
        ConstructorInfo c => $"ctor({Parameters(c.GetParameters())})",
        MethodInfo m => $"{(m.IsStatic ? "static " : "")}{Name(m.ReturnType)} {m.Name}({Parameters(m.GetParameters())})",
        PropertyInfo p => $"{(p.GetMethod?.IsStatic == true ? "static " : "")}{Name(p.PropertyType)} {p.Name} {{ {(p.GetMethod?.IsPublic == true ? "get; " : "")}{Setter(p)}}}",
        FieldInfo f when f.DeclaringType!.IsEnum => f.Name,
        FieldInfo f => $"{(f.IsStatic ? "static " : "")}{(f.IsLiteral ? "const " : "")}{Name(f.FieldType)} {f.Name}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        Type t => $"nested {Name(t)}",
        _ => member.Name,
    };

    private static string Setter(PropertyInfo property) =>
        property.SetMethod is not { IsPublic: true } setter ? ""
        : setter.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(System.Runtime.CompilerServices.IsExternalInit)) ? "init; " : "set; ";

    private static string Parameters(ParameterInfo[] parameters) =>
        string.Join(", ", parameters.Select(p => $"{(p.ParameterType.IsByRef ? (p.IsIn ? "in " : p.IsOut ? "out " : "ref ") : "")}{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    private static string Name(Type type)
    {
        if (type.IsByRef)
        {
            return Name(type.GetElementType()!);
        }

        if (Nullable.GetUnderlyingType(type) is { } inner)
        {
            return Name(inner) + "?";
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[]";
        }

        if (!type.IsGenericType)
        {
            return type.Namespace == "System" || type.Namespace?.StartsWith("Warden", StringComparison.Ordinal) == true ? type.Name : type.FullName ?? type.Name;
        }

        var name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
        return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(Name))}>";
    }
}
