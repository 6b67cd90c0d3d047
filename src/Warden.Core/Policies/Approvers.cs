namespace Warden.Core.Policies;

/// <summary>Turns approver references (person, role:, group:, owner:) into the people who may approve.</summary>
internal static class Approvers
{
    public static IReadOnlyList<string> Resolve(IEnumerable<string> references, UseCase useCase, IReadOnlyList<Owner> owners, IReadOnlyList<Group> groups)
    {
        var people = new SortedSet<string>(StringComparer.Ordinal);
        var groupsById = groups.ToDictionary(g => g.Id, StringComparer.Ordinal);
        var ownerIds = owners.Select(o => o.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var reference in references)
        {
            var colon = reference.IndexOf(':', StringComparison.Ordinal);
            var (prefix, name) = colon < 0 ? ("", reference) : (reference[..colon], reference[(colon + 1)..]);
            switch (prefix)
            {
                case "" when ownerIds.Contains(name):
                    people.Add(name);
                    break;
                case "role" when Names.Roles.TryGetValue(name, out var role):
                    people.UnionWith(owners.Where(o => o.Has(role)).Select(o => o.Id));
                    break;
                case "group":
                    AddGroup(name, groupsById, ownerIds, people, []);
                    break;
                case "owner":
                    var person = name switch
                    {
                        "business" => useCase.Owners.Business,
                        "technical" => useCase.Owners.Technical,
                        "data" => useCase.Owners.Data,
                        "risk" => useCase.Owners.Risk,
                        _ => "",
                    };
                    if (ownerIds.Contains(person))
                    {
                        people.Add(person);
                    }

                    break;
            }
        }

        return [.. people];
    }

    private static void AddGroup(string id, Dictionary<string, Group> groups, HashSet<string> owners, SortedSet<string> people, HashSet<string> visited)
    {
        // Breadth-first with a visited set: no recursion, and a cycle (refused by the checker anyway) cannot loop.
        var pending = new Queue<string>([id]);
        while (pending.TryDequeue(out var next))
        {
            if (!visited.Add(next) || !groups.TryGetValue(next, out var group))
            {
                continue;
            }

            foreach (var member in group.Members)
            {
                if (owners.Contains(member))
                {
                    people.Add(member);
                }
                else
                {
                    pending.Enqueue(member);
                }
            }
        }
    }
}
