using System.Collections.Concurrent;

namespace Warden.Core.Policies;

/// <summary>
/// The data classes of each field: the ones its system gives it (the workspace's schema says
/// contacts.email is pii) and the ones the policy's data_classes add; a policy cannot take a
/// system's class away. A call's classes are the ones its plan reports plus the ones its fields
/// belong to, so a plan that forgets a class cannot get past a rule about it.
/// </summary>
internal sealed class DataClassMap
{
    private const int MaxCachedFields = 10_000;
    private readonly (string Class, Glob Pattern)[] _patterns;
    private readonly IReadOnlyList<SystemCatalogue> _systems;
    private readonly ConcurrentDictionary<string, string[]> _byField = new(StringComparer.Ordinal);

    public DataClassMap(IReadOnlyDictionary<string, IReadOnlyList<string>> classes, IReadOnlyList<SystemCatalogue> systems)
    {
        _patterns = [.. classes.SelectMany(c => c.Value.Select(p => (c.Key, new Glob(p))))];
        _systems = systems;
    }

    public IReadOnlyList<string> ClassesOf(string field) => _byField.TryGetValue(field, out var known) ? known : Find(field);

    // Apart from the lookup: the lambda below captures 'field', which would allocate on every call.
    private string[] Find(string field)
    {
        var found = _systems.SelectMany(s => s.ClassesOf(field)).Concat(_patterns.Where(p => p.Pattern.Matches(field)).Select(p => p.Class)).Distinct().ToArray();
        if (_byField.Count < MaxCachedFields)
        {
            _byField.TryAdd(field, found);
        }

        return found;
    }

    /// <summary>
    /// The plan's classes with those of its fields added. Returns the plan's own list, allocating
    /// nothing, when it already names them all (as a plan built from this policy does).
    /// </summary>
    public IReadOnlyList<string> Complete(IReadOnlyList<string> classes, IReadOnlyList<string> fields)
    {
        // Index loops: a foreach over IReadOnlyList would allocate an enumerator per call.
        for (var i = 0; i < fields.Count; i++)
        {
            var derived = ClassesOf(fields[i]);
            for (var j = 0; j < derived.Count; j++)
            {
                if (!Contains(classes, derived[j]))
                {
                    return Merge(classes, fields);
                }
            }
        }

        return classes;
    }

    private IReadOnlyList<string> Merge(IReadOnlyList<string> classes, IReadOnlyList<string> fields) =>
        [.. classes.Concat(fields.SelectMany(ClassesOf)).Distinct(StringComparer.Ordinal)];

    private static bool Contains(IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
