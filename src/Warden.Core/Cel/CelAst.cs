namespace Warden.Core.Cel;

/// <summary>
/// A node of a parsed condition. Start and End are character offsets in the condition text, so a
/// type error can point at the exact part of the expression. The checker fills in <see cref="Type"/>.
/// </summary>
internal abstract class CelExpr(int start, int end)
{
    public int Start { get; } = start;

    public int End { get; } = end;

    public CelType Type { get; set; } = CelType.Dyn;
}

internal sealed class CelLiteral(int start, int end, CelValue value) : CelExpr(start, end)
{
    public CelValue Value { get; } = value;
}

internal sealed class CelIdent(int start, int end, string name) : CelExpr(start, end)
{
    public string Name { get; } = name;
}

/// <summary><c>operand.field</c>, or with <see cref="IsPresenceTest"/> the macro <c>has(operand.field)</c>.</summary>
internal sealed class CelSelect(int start, int end, CelExpr operand, string field, bool isPresenceTest) : CelExpr(start, end)
{
    public CelExpr Operand { get; } = operand;

    public string Field { get; } = field;

    public bool IsPresenceTest { get; } = isPresenceTest;
}

internal sealed class CelIndex(int start, int end, CelExpr operand, CelExpr key) : CelExpr(start, end)
{
    public CelExpr Operand { get; } = operand;

    public CelExpr Key { get; } = key;
}

/// <summary>A function call: <c>size(x)</c> (no target) or <c>x.startsWith(y)</c> (target x).</summary>
internal sealed class CelCall(int start, int end, CelExpr? target, string function, IReadOnlyList<CelExpr> args) : CelExpr(start, end)
{
    public CelExpr? Target { get; } = target;

    public string Function { get; } = function;

    public IReadOnlyList<CelExpr> Args { get; } = args;
}

internal sealed class CelUnary(int start, int end, string op, CelExpr operand) : CelExpr(start, end)
{
    public string Op { get; } = op;

    public CelExpr Operand { get; } = operand;
}

internal sealed class CelBinary(int start, int end, string op, CelExpr left, CelExpr right) : CelExpr(start, end)
{
    public string Op { get; } = op;

    public CelExpr Left { get; } = left;

    public CelExpr Right { get; } = right;
}

internal sealed class CelList(int start, int end, IReadOnlyList<CelExpr> items) : CelExpr(start, end)
{
    public IReadOnlyList<CelExpr> Items { get; } = items;
}

/// <summary>The macros <c>range.exists(var, predicate)</c> and <c>range.all(var, predicate)</c>.</summary>
internal sealed class CelComprehension(int start, int end, bool isAll, CelExpr range, string variable, CelExpr predicate) : CelExpr(start, end)
{
    public bool IsAll { get; } = isAll;

    public CelExpr Range { get; } = range;

    public string Variable { get; } = variable;

    public CelExpr Predicate { get; } = predicate;

    /// <summary>Which activation slot holds the variable; set by the checker from nesting depth.</summary>
    public int Slot { get; set; }
}

/// <summary>A problem in a condition, at character offsets within it.</summary>
internal sealed record CelProblem(int Start, int End, string Message, string? Hint = null);
