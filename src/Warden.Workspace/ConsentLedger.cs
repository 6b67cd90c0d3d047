using Microsoft.Data.Sqlite;

namespace Warden.Workspace;

/// <summary>
/// Consent belongs to the person's address, not to a row. Two things make it so, whatever edits,
/// merges, imports or rollbacks move an address between contacts:
/// <list type="bullet">
/// <item>every address is compared as its <em>mailbox</em> (lower-case, trimmed, without a
/// +tag, and for Gmail without dots), so <c>Ann+promo@Example.com</c> is the mailbox of
/// <c>ann@example.com</c>; contacts and suppression entries are indexed by it (an index on the
/// expression, not a generated column: SQLite computes a table's generated columns on every update
/// of a row, which made a 100,000-contact update a quarter slower);</item>
/// <item>a contact that is, or becomes, unsubscribed writes its mailbox to
/// <c>unsubscribed_addresses</c> by trigger, in the same statement as the change. Nothing takes
/// an address out of it but consent.update recording a new subscription for it (a consent change,
/// approved as one); moving the address to another contact, deleting or merging the contact, or
/// rolling back the unsubscribe leaves it there.</item>
/// </list>
/// Sends and syncs exclude a mailbox that is suppressed, in the ledger, or held by any record that
/// unsubscribed, and check it in the transaction that sends.
/// </summary>
internal static class ConsentLedger
{
    /// <summary>
    /// "consent" when a change writes consent or suppression, whatever the policy's data_classes
    /// call those fields: deciding who may be reached is a consent change by what it does.
    /// </summary>
    public static IEnumerable<string> ClassesOf(IEnumerable<string> fieldsChanged) =>
        fieldsChanged.Any(f => f.StartsWith("contacts.email_consent", StringComparison.Ordinal) || f.StartsWith("suppression.", StringComparison.Ordinal)) ? ["consent"] : [];

    /// <summary>
    /// The mailbox of an address held in <paramref name="column"/>, as SQL: only deterministic
    /// built-ins, so it can be indexed. Queries write it out with this method, so that SQLite
    /// matches it to the index (a column named through an alias matches too).
    /// </summary>
    public static string Mailbox(string column)
    {
        // EmailAddress.IsValid admits exactly one '@'.
        var address = $"lower(trim({column}))";
        var at = $"instr({address}, '@')";
        var local = $"substr({address}, 1, {at} - 1)";
        var domain = $"substr({address}, {at} + 1)";
        var untagged = $"(CASE WHEN instr({local}, '+') > 0 THEN substr({local}, 1, instr({local}, '+') - 1) ELSE {local} END)";
        return $"(CASE WHEN {domain} IN ('gmail.com', 'googlemail.com') THEN replace({untagged}, '.', '') || '@gmail.com' ELSE {untagged} || '@' || {domain} END)";
    }

    /// <summary>The mailbox of an address, as <see cref="Mailbox(string)"/> computes it in SQL.</summary>
    public static string MailboxOf(string email)
    {
        var address = email.Trim().ToLowerInvariant();
        var at = address.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
        {
            return address;
        }

        var local = address[..at];
        var domain = address[(at + 1)..];
        var plus = local.IndexOf('+', StringComparison.Ordinal);
        var untagged = plus >= 0 ? local[..plus] : local;
        return domain is "gmail.com" or "googlemail.com" ? untagged.Replace(".", "", StringComparison.Ordinal) + "@gmail.com" : untagged + "@" + domain;
    }

    /// <summary>
    /// Adds the mailbox indexes, the ledger and its triggers to a workspace that lacks them, and
    /// fills the ledger from the contacts that are unsubscribed (soft-deleted ones too) when it is
    /// new. Idempotent; runs on every open.
    /// </summary>
    public static void Install(SqliteConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        var created = Scalar(connection, transaction, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'unsubscribed_addresses'") == 0;
        Execute(connection, transaction, $$"""
            CREATE INDEX IF NOT EXISTS contacts_mailbox ON contacts {{Mailbox("email")}};
            CREATE INDEX IF NOT EXISTS suppression_mailbox ON suppression {{Mailbox("email")}};
            CREATE TABLE IF NOT EXISTS unsubscribed_addresses (
                mailbox TEXT PRIMARY KEY,
                email TEXT NOT NULL,             -- the address as the contact held it when it unsubscribed
                contact_id TEXT NOT NULL,        -- the contact that unsubscribed (it may since have been merged, deleted or erased)
                at TEXT NOT NULL,
                source TEXT
            );
            -- The contact's address at the moment it is, or becomes, unsubscribed; an unsubscribed
            -- contact given another address unsubscribes that one too (the most restrictive answer).
            CREATE TRIGGER IF NOT EXISTS contacts_unsubscribe_update AFTER UPDATE OF email, email_consent ON contacts
            WHEN NEW.email_consent = 'unsubscribed'
            BEGIN {{Remember}} END;
            """ + InsertTrigger);
        if (created)
        {
            Fill(connection, transaction);
        }

        transaction.Commit();
    }

    /// <summary>What both triggers do: keep the contact's mailbox as unsubscribed (the first record of it stays).</summary>
    private static readonly string Remember = $"""
        INSERT INTO unsubscribed_addresses (mailbox, email, contact_id, at, source)
        VALUES ({Mailbox("NEW.email")}, NEW.email, NEW.id, coalesce(NEW.email_consent_at, NEW.updated_at), NEW.email_consent_source)
        ON CONFLICT (mailbox) DO NOTHING;
        """;

    /// <summary>The trigger that keeps an inserted unsubscribed contact's mailbox: a bulk load (the seeder) drops it, then <see cref="Fill"/>s the ledger and creates it again.</summary>
    public static readonly string InsertTrigger = $"""
        CREATE TRIGGER IF NOT EXISTS contacts_unsubscribe_insert AFTER INSERT ON contacts
        WHEN NEW.email_consent = 'unsubscribed'
        BEGIN {Remember} END;
        """;

    /// <summary>Writes the mailbox of every unsubscribed contact (soft-deleted ones too) to the ledger, in the caller's transaction.</summary>
    public static void Fill(SqliteConnection connection, SqliteTransaction transaction) => Execute(connection, transaction, $"""
        INSERT INTO unsubscribed_addresses (mailbox, email, contact_id, at, source)
        SELECT {Mailbox("email")}, email, id, coalesce(email_consent_at, updated_at), email_consent_source FROM contacts
        WHERE email_consent = 'unsubscribed' ORDER BY id
        ON CONFLICT (mailbox) DO NOTHING;
        """);


    private static long Scalar(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
