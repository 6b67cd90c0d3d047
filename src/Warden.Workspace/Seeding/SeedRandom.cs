namespace Warden.Workspace.Seeding;

/// <summary>The independent random streams of one record: changing how one is drawn does not shift the others.</summary>
internal enum SeedStream : ulong
{
    Company = 1,
    Kind = 2,
    Identity = 3,
    Attributes = 4,
    Memberships = 5,
    Extras = 6,
    Erased = 7,
}

/// <summary>
/// SplitMix64, seeded per record. Every contact and company draws from its own stream keyed by
/// (seed, index, stream), so any record can be generated again from its index alone: a duplicate
/// re-derives the person it copies instead of the generator keeping a million people in memory.
/// System.Random(seed) is deterministic too, but one sequential stream cannot be entered in the
/// middle. The algorithm is fixed here, so a seed means the same data on every .NET version.
/// </summary>
internal struct SeedRandom
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    private ulong state;

    public SeedRandom(ulong state) => this.state = state;

    public static SeedRandom For(int seed, long index, SeedStream stream) =>
        new(Mix(Mix(((ulong)(uint)seed << 8) ^ (ulong)stream) + (ulong)index * Golden));

    public ulong NextUInt64()
    {
        state += Golden;
        return Mix(state);
    }

    /// <summary>0 ≤ result &lt; <paramref name="maxExclusive"/>, by multiply-shift (Lemire); the bias is below 2^-32.</summary>
    public int Next(int maxExclusive) => (int)(((NextUInt64() >> 32) * (ulong)maxExclusive) >> 32);

    public int Next(int minInclusive, int maxExclusive) => minInclusive + Next(maxExclusive - minInclusive);

    public long NextLong(long maxExclusive) => maxExclusive <= 0 ? 0 : (long)Math.BigMul(NextUInt64(), (ulong)maxExclusive, out _);

    /// <summary>A uniform time in [from, to]; <paramref name="from"/> when the span is empty.</summary>
    public long Between(long from, long to) => to <= from ? from : from + NextLong(to - from + 1);

    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public bool Chance(double probability) => NextDouble() < probability;

    public T Pick<T>(T[] items) => items[Next(items.Length)];

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>A fixed set of choices with weights; draws by walking the cumulative weights (the sets are small).</summary>
internal sealed class Weighted<T>
{
    private readonly T[] items;
    private readonly double[] cumulative;

    public Weighted(params (T Item, double Weight)[] choices)
    {
        items = [.. choices.Select(c => c.Item)];
        cumulative = new double[choices.Length];
        var total = choices.Sum(c => c.Weight);
        var sum = 0.0;
        for (var i = 0; i < choices.Length; i++)
        {
            sum += choices[i].Weight / total;
            cumulative[i] = sum;
        }

        cumulative[^1] = 1.0;
    }

    public T Pick(ref SeedRandom random)
    {
        var u = random.NextDouble();
        for (var i = 0; i < cumulative.Length; i++)
        {
            if (u < cumulative[i])
            {
                return items[i];
            }
        }

        return items[^1];
    }
}
