namespace Warden.Core.Cel;

internal enum CelTypeKind { Dyn, Null, Bool, Int, Double, String, List, Map, Error }

/// <summary>The static type of a condition's parts, named as CEL names them in messages.</summary>
internal sealed class CelType
{
    public static readonly CelType Dyn = new(CelTypeKind.Dyn);
    public static readonly CelType Null = new(CelTypeKind.Null);
    public static readonly CelType Bool = new(CelTypeKind.Bool);
    public static readonly CelType Int = new(CelTypeKind.Int);
    public static readonly CelType Double = new(CelTypeKind.Double);
    public static readonly CelType String = new(CelTypeKind.String);

    /// <summary>The type of a part that already has an error, so one mistake is reported once.</summary>
    public static readonly CelType Error = new(CelTypeKind.Error);

    public static readonly CelType StringList = List(String);
    public static readonly CelType DynList = List(Dyn);
    public static readonly CelType DynMap = Map(String, Dyn);

    private CelType(CelTypeKind kind, CelType? element = null, CelType? key = null)
    {
        Kind = kind;
        Element = element;
        Key = key;
    }

    public CelTypeKind Kind { get; }

    /// <summary>Element type of a list, value type of a map.</summary>
    public CelType? Element { get; }

    /// <summary>Key type of a map.</summary>
    public CelType? Key { get; }

    public bool IsDynOrError => Kind is CelTypeKind.Dyn or CelTypeKind.Error;

    public bool IsNumeric => Kind is CelTypeKind.Int or CelTypeKind.Double;

    public static CelType List(CelType element) => new(CelTypeKind.List, element);

    public static CelType Map(CelType key, CelType value) => new(CelTypeKind.Map, value, key);

    /// <summary>CEL's rule for equality and membership: the same type, or dyn on either side.</summary>
    public static bool Compatible(CelType a, CelType b)
    {
        if (a.IsDynOrError || b.IsDynOrError)
        {
            return true;
        }

        if (a.Kind != b.Kind)
        {
            return false;
        }

        return a.Kind switch
        {
            CelTypeKind.List => Compatible(a.Element!, b.Element!),
            CelTypeKind.Map => Compatible(a.Key!, b.Key!) && Compatible(a.Element!, b.Element!),
            _ => true,
        };
    }

    public override string ToString() => Kind switch
    {
        CelTypeKind.Dyn => "dyn",
        CelTypeKind.Null => "null",
        CelTypeKind.Bool => "bool",
        CelTypeKind.Int => "int",
        CelTypeKind.Double => "double",
        CelTypeKind.String => "string",
        CelTypeKind.List => $"list({Element})",
        CelTypeKind.Map => $"map({Key}, {Element})",
        _ => "error",
    };
}
