namespace Warden.Benchmarks;
using System.Text.Json;
using Warden.Core;
using Warden.Core.Cel;
using Warden.Core.Decisions;
internal static class AllocProbe
{
    public static void Run()
    {
        var facts = new PlanFacts { Records = 2400, Classes = ["pii"], Fields = ["contacts.email", "contacts.first_name"] };
        var input = new ConditionInput(facts, JsonDocument.Parse("{}").RootElement, "production", "a", "u", "workspace", "lists.add_members", "write", false, true);
        foreach (var text in new[] { "!('consent' in classes) && records < 4937", "records <= 3783", "records > 2242 && 'pii' in classes", "fields.all(f, f.startsWith('contacts.')) && size(fields) <= 3", "fields.exists(f, f.startsWith('contacts.email'))", "'restricted' in classes || records > 1035", "tool in ['contacts.update', 'lists.add_members', 'lifecycle.set_stage'] && records < 4597" })
        {
            var c = CelCondition.Compile(text, ConditionVariables.All, out _, out _)!;
            var act = new CelActivation(input);
            c.Evaluate(ref act);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 100; i++) { act = new CelActivation(input); c.Evaluate(ref act); }
            Console.WriteLine($"{(GC.GetAllocatedBytesForCurrentThread() - before) / 100} B  {text}");
        }
    }
}
