using Warden.Storage.Engines;

namespace Warden.Storage.Gateway;

/// <summary>A person's password as kept: its hash, and the failed sign-ins since the last good one.</summary>
public sealed record PasswordRecord(string Person, string Hash, DateTimeOffset SetAt, int Failures, DateTimeOffset? LockedUntil);

/// <summary>A signed-in person's console session: who, the token forms carry back, and when it ends.</summary>
public sealed record ConsoleSession(string Person, string Csrf, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>
/// People's console accounts: password hashes with their failed sign-ins, and sessions, kept by
/// the SHA-256 of their token (a copy of the file signs nobody in).
/// </summary>
public sealed class PersonAccounts
{
    private readonly StoreDatabase _db;

    internal PersonAccounts(StoreDatabase database) => _db = database;

    /// <summary>Sets a person's password hash; their failed sign-ins are forgotten, and every session and unused sign-in link of theirs ends.</summary>
    public void SetPassword(string person, string hash, DateTimeOffset at) => _db.Transaction(session =>
    {
        // One transaction: a new password is how a leaked way in is shut, and a session or a link
        // printed earlier is one; none survives it.
        session.Lock("person " + person);
        session.Execute("DELETE FROM console_sessions WHERE person = @person", ("@person", person));
        session.Execute("DELETE FROM sign_in_links WHERE person = @person", ("@person", person));
        return session.Execute(
            "INSERT INTO person_passwords (person, hash, set_at, failures, locked_until) VALUES (@person, @hash, @at, 0, NULL) "
            + "ON CONFLICT (person) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at, failures = 0, locked_until = NULL",
            ("@person", person), ("@hash", hash), ("@at", GatewayStore.Time(at)));
    }, serializable: false);

    /// <summary>The person's password record, or null when none is set.</summary>
    public PasswordRecord? Password(string person) => _db.Use(session => Password(session, person));

    private static PasswordRecord? Password(StoreSession session, string person) =>
        session.Query("SELECT hash, set_at, failures, locked_until FROM person_passwords WHERE person = @person",
            r => new PasswordRecord(person, r.GetString(0), r.Time(1), r.GetInt32(2), r.NullableTime(3)), ("@person", person)).FirstOrDefault();

    /// <summary>
    /// Counts a sign-in attempt before its password is checked, so that wrong passwords sent at once
    /// (to one replica or to several) cannot all pass the lock the first of them will set: the
    /// <paramref name="lockAfter"/>th attempt in a row locks the account until <paramref name="at"/> +
    /// <paramref name="lockFor"/> (a right password then starts a session and lifts it). Returns false
    /// with the lock's end when the account is locked (the attempt is neither checked nor counted);
    /// true with the lock this attempt set, if any.
    /// </summary>
    public (bool Counted, DateTimeOffset? LockedUntil) Attempt(string person, DateTimeOffset at, int lockAfter, TimeSpan lockFor) => _db.Transaction(session =>
    {
        session.Lock("person " + person);
        if (Password(session, person) is not { } before)
        {
            return (false, (DateTimeOffset?)null);
        }

        if (before.LockedUntil is { } locked && locked > at)
        {
            return (false, locked);
        }

        session.Execute(
            "UPDATE person_passwords SET failures = failures + 1, locked_until = CASE WHEN failures + 1 >= @after THEN @until ELSE locked_until END WHERE person = @person",
            ("@person", person), ("@after", lockAfter), ("@until", GatewayStore.Time(at + lockFor)));
        return (true, Password(session, person)?.LockedUntil is { } until && until > at ? until : null);
    }, serializable: false);

    /// <summary>
    /// A good sign-in: starts a session for the token whose SHA-256 is <paramref name="tokenHash"/>
    /// and forgets the failed sign-ins, when the person's password is still the one whose hash
    /// <paramref name="passwordHash"/> was checked. False, and nothing started, when a password was
    /// set meanwhile: a password leaked and replaced while it was being checked signs nobody in.
    /// A sign-in link passes the hash it read (null when the person has none).
    /// </summary>
    public bool StartSession(string tokenHash, ConsoleSession session, string? passwordHash)
    {
        ArgumentNullException.ThrowIfNull(session);
        return _db.Transaction(s =>
        {
            // Per person, the password's check and the session it starts are one step, after any
            // password set meanwhile (which takes the same lock): no serializable collision with
            // other people's sign-ins, which, all at once, would exhaust its retries.
            s.Lock("person " + session.Person);
            if (Password(s, session.Person)?.Hash != passwordHash)
            {
                return false;
            }

            s.Execute("UPDATE person_passwords SET failures = 0, locked_until = NULL WHERE person = @person", ("@person", session.Person));
            s.Execute("DELETE FROM console_sessions WHERE expires_at <= @now", ("@now", GatewayStore.Time(session.CreatedAt)));
            s.Execute("INSERT INTO console_sessions (token_hash, person, csrf, created_at, expires_at) VALUES (@token, @person, @csrf, @created, @expires)",
                ("@token", tokenHash), ("@person", session.Person), ("@csrf", session.Csrf), ("@created", GatewayStore.Time(session.CreatedAt)),
                ("@expires", GatewayStore.Time(session.ExpiresAt)));
            return true;
        }, serializable: false);
    }

    /// <summary>
    /// The session of the token whose SHA-256 is <paramref name="tokenHash"/>, while it lasts and was
    /// used within <paramref name="idle"/>; null otherwise. Using it counts as use.
    /// </summary>
    public ConsoleSession? Session(string tokenHash, DateTimeOffset now, TimeSpan idle) => _db.Use(s =>
    {
        var session = s.Query(
                "SELECT person, csrf, created_at, expires_at FROM console_sessions WHERE token_hash = @token AND expires_at > @now AND coalesce(last_seen, created_at) > @since",
                r => new ConsoleSession(r.GetString(0), r.GetString(1), r.Time(2), r.Time(3)),
                ("@token", tokenHash), ("@now", GatewayStore.Time(now)), ("@since", GatewayStore.Time(now - idle)))
            .FirstOrDefault();
        if (session is not null)
        {
            // Only forward: a replica whose request was slower must not set it back.
            s.Execute("UPDATE console_sessions SET last_seen = @now WHERE token_hash = @token AND coalesce(last_seen, created_at) < @now",
                ("@token", tokenHash), ("@now", GatewayStore.Time(now)));
        }

        return session;
    });

    /// <summary>Replaces every sign-in link with these (token SHA-256 and person), valid until <paramref name="expires"/>: links printed by an earlier start stop working.</summary>
    public void IssueLinks(IReadOnlyList<(string TokenHash, string Person)> links, DateTimeOffset expires)
    {
        ArgumentNullException.ThrowIfNull(links);
        _db.Transaction(s =>
        {
            s.Execute("DELETE FROM sign_in_links");
            foreach (var (tokenHash, person) in links)
            {
                s.Execute("INSERT INTO sign_in_links (token_hash, person, expires_at) VALUES (@token, @person, @expires)",
                    ("@token", tokenHash), ("@person", person), ("@expires", GatewayStore.Time(expires)));
            }

            return 0;
        });
    }

    /// <summary>The person a sign-in link signs in while it is unused and lasts; null otherwise. Looking does not use it.</summary>
    public string? LinkFor(string tokenHash, DateTimeOffset now) => _db.Use(s => LinkFor(s, tokenHash, now));

    private static string? LinkFor(StoreSession session, string tokenHash, DateTimeOffset now) =>
        session.Text("SELECT person FROM sign_in_links WHERE token_hash = @token AND used_at IS NULL AND expires_at > @now",
            ("@token", tokenHash), ("@now", GatewayStore.Time(now)));

    /// <summary>Uses a sign-in link: the person it signs in, once (on any replica); null when it is unknown, used or expired.</summary>
    public string? UseLink(string tokenHash, DateTimeOffset now) => _db.Use(s =>
    {
        var person = LinkFor(s, tokenHash, now);
        return person is not null && s.Execute("UPDATE sign_in_links SET used_at = @now WHERE token_hash = @token AND used_at IS NULL",
            ("@token", tokenHash), ("@now", GatewayStore.Time(now))) == 1 ? person : null;
    });

    /// <summary>Ends a session (signing out).</summary>
    public void EndSession(string tokenHash) => _db.Execute("DELETE FROM console_sessions WHERE token_hash = @token", ("@token", tokenHash));
}
