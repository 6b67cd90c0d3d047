using Warden.Core;

namespace Warden.Workspace.Tools;

/// <summary>
/// Who a send or sync reaches. Consent is enforced here, by the workspace, whatever the call says,
/// and by mailbox (see <see cref="ConsentLedger"/>): a mailbox on any suppression list, a mailbox
/// that unsubscribed (the ledger keeps it whatever row holds it now) or that any record holding it
/// unsubscribed, or a contact without recorded consent is left out; a mailbox held by several
/// contacts is reached once.
/// </summary>
internal sealed record Audience(string Id, string Name, string Predicate, IReadOnlyList<SqlArg> Parameters)
{
    public static SystemResult<Audience> Resolve(ToolContext context, string id, string tool)
    {
        if (context.Row(Tables.Segments, id) is { } segment)
        {
            var rule = (string)segment["rule"]!;
            var filter = ContactFilter.Compile(rule, "aud", context.Sql, out var error);
            if (filter is null)
            {
                return SystemError.Refused($"segment '{id}' has a rule that is not a valid filter ({error}); {tool} changed nothing");
            }

            return new Audience(id, $"segment '{segment["name"]}'", filter.Predicate, filter.Parameters);
        }

        var list = context.Text("SELECT name FROM lists WHERE id = @id", ("@id", id));
        if (list is not null)
        {
            return new Audience(id, $"list '{list}'", "id IN (SELECT contact_id FROM list_members WHERE list_id = @audience)", [new SqlArg("@audience", id)]);
        }

        return SystemError.NotFound($"there is no segment or list '{id}'; {tool} changed nothing");
    }

    /// <summary>Every audience member with the reason it is left out, or NULL when it is reached.</summary>
    public string Classified => $"""
        WITH audience AS (
            SELECT id, email, {ConsentLedger.Mailbox("email")} AS mailbox, email_consent FROM contacts WHERE deleted_at IS NULL AND {Predicate}),
        unsubscribed AS (
            SELECT mailbox FROM unsubscribed_addresses WHERE mailbox IN (SELECT mailbox FROM audience)
            UNION
            SELECT {ConsentLedger.Mailbox("email")} FROM contacts WHERE email_consent = 'unsubscribed' AND {ConsentLedger.Mailbox("email")} IN (SELECT mailbox FROM audience)),
        ranked AS (
            SELECT id, email, mailbox, email_consent,
                   row_number() OVER (PARTITION BY mailbox ORDER BY CASE WHEN email_consent = 'subscribed' THEN 0 ELSE 1 END, id) AS n
            FROM audience)
        SELECT id, email, CASE
            WHEN mailbox IN (SELECT {ConsentLedger.Mailbox("email")} FROM suppression) THEN 'suppressed'
            WHEN mailbox IN (SELECT mailbox FROM unsubscribed) THEN 'unsubscribed'
            WHEN email_consent <> 'subscribed' THEN 'no recorded consent'
            WHEN n > 1 THEN 'address already reached through another contact'
            END AS excluded
        FROM ranked
        """;

    public string Reached => $"SELECT id, email FROM ({Classified}) AS picked WHERE excluded IS NULL";

    public IReadOnlyList<Exclusion> Exclusions(ToolContext context)
    {
        using var command = context.Command($"SELECT excluded, count(*) FROM ({Classified}) AS picked WHERE excluded IS NOT NULL GROUP BY excluded ORDER BY count(*) DESC, excluded", Parameters);
        using var reader = command.ExecuteReader();
        var exclusions = new List<Exclusion>();
        while (reader.Read())
        {
            exclusions.Add(new Exclusion(reader.GetString(0), reader.GetInt64(1)));
        }

        return exclusions;
    }
}
