using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Warden.Storage.Engines;

/// <summary>Parameters for commands of either engine, where the code holds only <see cref="DbCommand"/>.</summary>
internal static class DbParameters
{
    /// <summary>Adds a parameter with its value (null as SQL NULL) and returns it, for code that sets it again per row.</summary>
    public static DbParameter AddWithValue(this DbParameterCollection parameters, string name, object? value)
    {
        DbParameter parameter = parameters switch
        {
            SqliteParameterCollection => new SqliteParameter(),
            NpgsqlParameterCollection => new NpgsqlParameter(),
            _ => throw new ArgumentException($"no parameters of {parameters.GetType().Name}", nameof(parameters)),
        };
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        parameters.Add(parameter);
        return parameter;
    }
}
