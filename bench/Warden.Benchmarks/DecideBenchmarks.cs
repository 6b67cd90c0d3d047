using BenchmarkDotNet.Attributes;
using Warden.Core;

namespace Warden.Benchmarks;

/// <summary>One decision against generated policies of 10 to 10,000 rules, cycling through 1,024 varied calls.</summary>
[MemoryDiagnoser]
public class DecideBenchmarks
{
    private Policy _policy = null!;
    private DecisionRequest[] _calls = [];
    private int _next;

    [Params(10, 100, 1_000, 10_000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var result = PolicyLoader.Load(PolicyGenerator.Generate(Rules), "generated.yaml", PolicyGenerator.Options);
        _policy = result.Policy ?? throw new InvalidOperationException(string.Join("\n", result.Errors));
        _calls = PolicyGenerator.Calls(_policy, 1024);
    }

    [Benchmark]
    public Effect Decide()
    {
        var call = _calls[_next++ & 1023];
        return _policy.Decide(call).Effect;
    }
}

/// <summary>Loading (parse, check, compile, index) a generated policy.</summary>
[MemoryDiagnoser]
public class LoadBenchmarks
{
    private string _text = "";

    [Params(100, 1_000, 10_000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup() => _text = PolicyGenerator.Generate(Rules);

    [Benchmark]
    public bool Load() => PolicyLoader.Load(_text, "generated.yaml", PolicyGenerator.Options).Succeeded;
}
