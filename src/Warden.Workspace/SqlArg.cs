namespace Warden.Workspace;

/// <summary>A value bound to a statement by name (<c>@name</c>), whichever engine runs the statement.</summary>
internal readonly record struct SqlArg(string Name, object? Value);

/// <summary>Binding values to any engine's command, as Microsoft.Data.Sqlite's AddWithValue does for its own.</summary>
internal static class SqlBinding
{
    /// <summary>Binds a value by name (null as SQL NULL) and returns the parameter, to set again for the next row.</summary>
    public static System.Data.Common.DbParameter Bind(this System.Data.Common.DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
