using static Warden.Core.Tests.TestPolicies;

namespace Warden.Core.Tests.Policies;

/// <summary>
/// Random mutations of the example policy (a fixed seed, a bounded count): the loader must answer
/// every one with a result (a policy or diagnostics), never an exception or a hang.
/// </summary>
public sealed class PolicyFuzzTests
{
    private const int Mutations = 1500;

    [Fact]
    public void Mutated_policies_never_crash_the_loader()
    {
        var original = Examples.PolicyText;
        var random = new Random(20261125);
        var failures = new List<string>();
        for (var i = 0; i < Mutations; i++)
        {
            var mutated = Mutate(original, random);
            try
            {
                var result = Load(mutated);
                if (!result.Succeeded && !result.Errors.Any())
                {
                    failures.Add($"mutation {i}: no policy and no error");
                }

                if (result.Diagnostics.Any(d => string.IsNullOrWhiteSpace(d.Message)))
                {
                    failures.Add($"mutation {i}: a diagnostic without a message");
                }
            }
            catch (Exception e)
            {
                failures.Add($"mutation {i}: {e}\n--- input ---\n{mutated}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures.Take(3)));
    }

    [Fact]
    public void Decisions_on_mutated_policies_that_load_never_throw()
    {
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            var result = Load(Mutate(Examples.PolicyText, random));
            if (result.Policy is not { } policy)
            {
                continue;
            }

            foreach (var agent in policy.Agents)
            {
                foreach (var tool in policy.Tools.Take(10))
                {
                    var decision = policy.Decide(Call(agent.Id, tool.Name, agent.Environments[0], system: tool.System));
                    Assert.NotEqual(DecisionBasis.EvaluationFailed, decision.Basis);
                    Assert.False(string.IsNullOrEmpty(decision.Reason));
                }
            }
        }
    }

    private static readonly string[] Fragments =
    [
        ":", "- ", "[", "]", "{", "}", "\"", "'", "&x ", "*x", "!!str ", "\t", "\n", "  ", "#", "|", ">", "? ", "%", "@", "`", "\\", "\u0000", "\uFFFF",
        "records > ", "&&", "||", "(", ")", "effect: allow", "effect: deny", "when: ", "tool: '*'", "kind: delete", "agent: x", "quorum: 99",
        "until: 2020-01-01T00:00:00Z", "version: 2", "id: dup", "999999999999999999999", "-1", "null", "~", "true",
    ];

    private static string Mutate(string text, Random random)
    {
        var lines = text.Split('\n').ToList();
        var edits = random.Next(1, 6);
        for (var e = 0; e < edits && lines.Count > 0; e++)
        {
            var line = random.Next(lines.Count);
            switch (random.Next(7))
            {
                case 0:
                    lines.RemoveAt(line);
                    break;
                case 1:
                    lines.Insert(line, lines[random.Next(lines.Count)]);
                    break;
                case 2:
                    var at = random.Next(lines[line].Length + 1);
                    lines[line] = lines[line].Insert(at, Fragments[random.Next(Fragments.Length)]);
                    break;
                case 3:
                    if (lines[line].Length > 0)
                    {
                        var from = random.Next(lines[line].Length);
                        lines[line] = lines[line].Remove(from, random.Next(1, Math.Min(8, lines[line].Length - from) + 1));
                    }

                    break;
                case 4:
                    (lines[line], lines[random.Next(lines.Count)]) = (lines[random.Next(lines.Count)], lines[line]);
                    break;
                case 5:
                    lines[line] = new string(' ', random.Next(0, 12)) + lines[line].TrimStart();
                    break;
                default:
                    var chars = lines[line].ToCharArray();
                    if (chars.Length > 0)
                    {
                        chars[random.Next(chars.Length)] = (char)random.Next(32, 127);
                    }

                    lines[line] = new string(chars);
                    break;
            }
        }

        return string.Join('\n', lines);
    }
}
