namespace Warden.Postgres;

/// <summary>What a SQL statement does, as PostgreSQL itself reads it.</summary>
public enum StatementKind
{
    /// <summary>Reads (SELECT, VALUES, TABLE): changes nothing.</summary>
    Read,
    /// <summary>INSERT.</summary>
    Insert,
    /// <summary>UPDATE.</summary>
    Update,
    /// <summary>DELETE.</summary>
    Delete,
    /// <summary>MERGE (may insert, update and delete).</summary>
    Merge,
    /// <summary>DROP, TRUNCATE, ALTER, CREATE and the other changes to the schema.</summary>
    Schema,
    /// <summary>GRANT, REVOKE, and changes to roles.</summary>
    Permission,
    /// <summary>More than one statement in one call.</summary>
    Multiple,
    /// <summary>Anything else (COPY, DO, CALL, SET, ...): treated as the most dangerous.</summary>
    Other,
}

/// <summary>
/// A statement as PostgreSQL classified it: its kind, the tables its plan reads or writes, whether
/// a data change is restricted by a condition (a WHERE, a join) or reaches every row (a change
/// whose preview updated or deleted every row of a table has no WHERE, whatever its text says),
/// and the planner's estimate of the rows.
/// </summary>
public sealed record Statement(StatementKind Kind, IReadOnlyList<string> Tables, bool Where, long EstimatedRows)
{
    /// <summary>The kind as policies name it: read, insert, update, delete, merge, schema, permission, multiple, other.</summary>
    public string KindName => Kind.ToString().ToLowerInvariant();

    /// <summary>The governed columns the statement reads, as table.column (from the planner's own text of each scan; never fewer than it reads).</summary>
    public IReadOnlyList<string> Columns { get; init; } = [];

    /// <summary>The statement calls nextval: the keys it inserts move on at every try, so the plan binds inserted rows without their keys.</summary>
    internal bool DrawsSequence { get; init; }

    /// <summary>True for INSERT, UPDATE, DELETE and MERGE: rows change, and Warden can capture and restore them.</summary>
    public bool ChangesRows => Kind is StatementKind.Insert or StatementKind.Update or StatementKind.Delete or StatementKind.Merge;
}
