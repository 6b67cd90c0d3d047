using Warden.Core;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>
/// The journal's rows in binary form, and the apply's digests Warden makes from them: every shape
/// of table plans and applies alike and rolls back exactly, a change since is stale, and a rollback
/// reads the rows back as they were whatever its session's settings or the types' changes since.
/// </summary>
public sealed class BinaryJournalTests(PostgresServer server) : IAsyncLifetime
{
    private Warehouse _warehouse = null!;

    public async ValueTask InitializeAsync() => _warehouse = await Warehouse.CreateAsync(server, contacts: 200);

    public ValueTask DisposeAsync() => _warehouse.DisposeAsync();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Every byte of a table, whatever its key.</summary>
    private Task<string> FingerprintAsync(string table) =>
        server.ScalarAsync<string>(_warehouse.Database, $"SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\"), '')) FROM {table} t");

    private async Task AppliesAndRollsBackExactlyAsync(PostgresDatabase system, string table, string sql)
    {
        var before = await FingerprintAsync(table);
        var applied = await system.ApplyAsync(system.Plan(Warehouse.Call("execute", sql)).Get(), null, Ct);
        Assert.True(applied.Error is null, $"{sql}: {applied.Error?.Code} {applied.Error?.Message}");

        var rolledBack = await system.RollBackAsync(new RollbackRequest(applied.Value!.ActionId), ConflictResolution.Skip, "maria", Ct);

        Assert.True(rolledBack.Error is null, $"rollback of {sql}: {rolledBack.Error?.Code} {rolledBack.Error?.Message}");
        Assert.Equal(before, await FingerprintAsync(table));
    }

    private async Task IsStaleAsync(PostgresDatabase system, string sql, string meanwhile, string table)
    {
        var plan = system.Plan(Warehouse.Call("execute", sql)).Get();
        await server.ExecuteAsync(_warehouse.Database, meanwhile);
        var before = await FingerprintAsync(table);

        var applied = await system.ApplyAsync(plan, null, Ct);

        Assert.True(applied.Error?.Code == "stale_plan", $"{sql} after {meanwhile}: {applied.Error?.Code}");
        Assert.Equal(before, await FingerprintAsync(table));
    }

    [Fact]
    public async Task Tables_of_every_shape_plan_and_apply_alike_and_roll_back_exactly()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
            CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
            CREATE TABLE w (a text, b text, dropme int, id serial, c numeric, d float8, e timestamptz, f timestamp, g date, h int[], j mood, k posint,
                            l jsonb, m bytea, n interval, p text COLLATE "C", big text, gen text GENERATED ALWAYS AS (a || '/' || b) STORED,
                            PRIMARY KEY (b, a));
            ALTER TABLE w DROP COLUMN dropme;
            INSERT INTO w (a, b, c, d, e, f, g, h, j, k, l, m, n, p, big)
              SELECT 'a' || (g % 7), 'B' || g, g * 1.5, g / 3.0::float8, CASE WHEN g % 4 = 0 THEN NULL ELSE '2026-01-01 03:00+05'::timestamptz + g * interval '1 min' END,
                     CASE WHEN g % 5 = 0 THEN NULL ELSE '2026-01-01'::timestamp + g * interval '1 min' END, '2026-01-01'::date + g,
                     ARRAY[g, NULL, -g], (ARRAY['sad','ok','happy'])[g % 3 + 1]::mood, g,
                     jsonb_build_object('k', g, 'f', 0.1 + g), decode(md5(g::text), 'hex'), g * interval '1 day 3 sec',
                     'ß' || g, CASE WHEN g % 3 = 0 THEN repeat('x', 3000 + g) END
              FROM generate_series(1, 60) g;
            CREATE TABLE onlyseq (id bigserial PRIMARY KEY);
            INSERT INTO onlyseq DEFAULT VALUES;
            CREATE TABLE par (id int PRIMARY KEY, v text);
            CREATE TABLE chi (id int PRIMARY KEY, pid int REFERENCES par ON DELETE CASCADE ON UPDATE CASCADE, v text);
            INSERT INTO par SELECT g, 'p' || g FROM generate_series(1, 10) g;
            INSERT INTO chi SELECT g, g % 10 + 1, 'c' || g FROM generate_series(1, 50) g;
            """, "w", "onlyseq", "par", "chi");

        await AppliesAndRollsBackExactlyAsync(system, "w", "UPDATE w SET c = c + 1, e = now(), f = localtimestamp WHERE b < 'B3'");
        await AppliesAndRollsBackExactlyAsync(system, "w", "UPDATE w SET e = NULL, f = NULL, big = repeat('y', 5000) WHERE b > 'B5'");
        await AppliesAndRollsBackExactlyAsync(system, "w", "UPDATE w SET a = a || 'z' WHERE b < 'B4'");
        await AppliesAndRollsBackExactlyAsync(system, "w", "UPDATE w SET b = b || 'z', e = now() WHERE a = 'a1'");
        await AppliesAndRollsBackExactlyAsync(system, "w", "DELETE FROM w WHERE a IN ('a2', 'a3')");
        await AppliesAndRollsBackExactlyAsync(system, "w",
            "INSERT INTO w (a, b, e, f, big) SELECT 'n', 'n' || g, now(), localtimestamp, repeat('q', 2000 * (g % 2)) FROM generate_series(1, 20) g");
        await AppliesAndRollsBackExactlyAsync(system, "w", "INSERT INTO w (a, b, c) VALUES ('a1', 'B1', 0), ('new', 'new', 1) ON CONFLICT (b, a) DO UPDATE SET c = excluded.c, e = now()");
        await AppliesAndRollsBackExactlyAsync(system, "w",
            "MERGE INTO w USING (SELECT 'a' || (g % 7) AS a, 'B' || g AS b FROM generate_series(50, 70) g) s ON w.a = s.a AND w.b = s.b "
            + "WHEN MATCHED AND w.c > 80 THEN DELETE WHEN MATCHED THEN UPDATE SET f = localtimestamp WHEN NOT MATCHED THEN INSERT (a, b, f) VALUES (s.a, s.b, localtimestamp)");
        await AppliesAndRollsBackExactlyAsync(system, "onlyseq", "INSERT INTO onlyseq SELECT FROM generate_series(1, 3)");
        await AppliesAndRollsBackExactlyAsync(system, "chi", "DELETE FROM par WHERE id <= 3");
        await AppliesAndRollsBackExactlyAsync(system, "chi", "UPDATE par SET id = id + 100 WHERE id <= 5");
    }

    [Fact]
    public async Task A_change_since_the_plan_to_a_row_or_to_what_the_statement_reads_is_stale()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE flag (k text PRIMARY KEY, v int);
            INSERT INTO flag VALUES ('x', 0);
            CREATE TABLE par (id int PRIMARY KEY, v text);
            CREATE TABLE chi (id int PRIMARY KEY, pid int REFERENCES par ON DELETE CASCADE ON UPDATE CASCADE, v text, at timestamp);
            INSERT INTO par SELECT g, 'p' || g FROM generate_series(1, 10) g;
            INSERT INTO chi SELECT g, g % 10 + 1, repeat('c', 1500 * (g % 2)) || g, '2026-01-01' FROM generate_series(1, 50) g;
            """, "flag", "par", "chi");

        await IsStaleAsync(system, "UPDATE par SET id = id + 100 + (SELECT v FROM flag) WHERE id <= 5", "UPDATE flag SET v = 1", "chi");
        await IsStaleAsync(system, "UPDATE chi SET v = v || (SELECT v FROM flag) WHERE id <= 20", "UPDATE flag SET v = 2", "chi");
        await IsStaleAsync(system, "UPDATE chi SET at = CASE WHEN (SELECT v FROM flag) = 3 THEN localtimestamp ELSE NULL END WHERE id <= 20", "UPDATE flag SET v = 3", "chi");
        await IsStaleAsync(system, "UPDATE chi SET v = 'same' WHERE id <= 20", "UPDATE chi SET v = v || 'z' WHERE id = 19", "chi");
        await IsStaleAsync(system, "UPDATE chi SET v = 'same' WHERE id <= 20", "UPDATE chi SET v = 'x' WHERE id = 3", "chi");
        await IsStaleAsync(system, "UPDATE chi SET v = 'same' WHERE id <= 20",
            "UPDATE chi SET id = 1000 WHERE id = 5; UPDATE chi SET id = 5 WHERE id = 6; UPDATE chi SET id = 6 WHERE id = 1000", "chi");
    }

    [Fact]
    public async Task An_update_plans_and_applies_alike_whatever_order_its_rows_come_in_for_every_key_type_whose_order_Warden_knows()
    {
        // Rows written in no order of their keys, so a scan reads them out of it; negative numbers and times before 2000, whose bytes sort
        // after the positive ones; text whose bytes are not ASCII, and keys of two columns whose first is a prefix of another's. Then keys whose
        // order Warden does not know, or whose rows it cannot pair byte for byte: deferred, numeric (1 = 1.00), text under a collation that
        // ignores case ('k1' = 'K1').
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE k8 (id bigint PRIMARY KEY, v text);
            INSERT INTO k8 SELECT g * 1000003 * (1 - 2 * (g % 2)), 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text);
            CREATE TABLE k2 (id smallint PRIMARY KEY, v text);
            INSERT INTO k2 SELECT g - 20, 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text);
            CREATE TABLE k4 (id integer PRIMARY KEY, v text);
            INSERT INTO k4 SELECT (g - 20) * 70001, 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text);
            CREATE TABLE kd (id date PRIMARY KEY, v text);
            INSERT INTO kd SELECT date '1999-12-20' + g, 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text);
            CREATE TABLE kt (id timestamp PRIMARY KEY, v text);
            INSERT INTO kt SELECT timestamp '1999-12-31 23:59:40' + g * interval '1 sec', 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text);
            CREATE TABLE ktz (id timestamptz PRIMARY KEY, v text);
            INSERT INTO ktz SELECT timestamptz '1960-01-01 00:00+00' + g * interval '1 year', 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text);
            CREATE TABLE ku (id uuid PRIMARY KEY, v text);
            INSERT INTO ku SELECT md5(g::text)::uuid, 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text || 'x');
            CREATE TABLE kb (flag boolean, n int, v text, PRIMARY KEY (flag, n));
            INSERT INTO kb SELECT g % 2 = 0, 20 - g, 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text);
            CREATE TABLE ks (id text PRIMARY KEY, v text);
            INSERT INTO ks SELECT x, 'v' FROM unnest(ARRAY['', 'a', 'ab', 'a b', 'aB', 'é', 'éa', 'e', 'ez', '日本', '日', 'Z', 'z', 'ß', 'ss', '~', ' ']) x ORDER BY md5(x);
            CREATE TABLE kvs (name varchar(20), n int, v text, PRIMARY KEY (name, n));
            INSERT INTO kvs SELECT x, n, 'v' FROM unnest(ARRAY['a', 'ab', 'a b', 'é', '']) x CROSS JOIN generate_series(-3, 3) n ORDER BY md5(x || n);
            CREATE TABLE kdef (id int, v text, PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED);
            INSERT INTO kdef SELECT g, 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text);
            CREATE TABLE knum (id numeric PRIMARY KEY, v text);
            INSERT INTO knum SELECT g - 20, 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text);
            CREATE COLLATION anycase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
            CREATE TABLE kci (id text COLLATE anycase PRIMARY KEY, v text);
            INSERT INTO kci SELECT 'k' || g, 'v' FROM generate_series(1, 40) g ORDER BY md5(g::text);
            """, "k8", "k2", "k4", "kd", "kt", "ktz", "ku", "kb", "ks", "kvs", "kdef", "knum", "kci");

        foreach (var table in (string[])["k8", "k2", "k4", "kd", "kt", "ktz", "ku", "kb", "ks", "kvs", "kdef", "knum", "kci"])
        {
            await AppliesAndRollsBackExactlyAsync(system, table, $"UPDATE {table} SET v = v || 'x' WHERE v IS NOT NULL");
        }

        await AppliesAndRollsBackExactlyAsync(system, "kdef", "UPDATE kdef SET id = id + 1, v = 'shifted'");
        await AppliesAndRollsBackExactlyAsync(system, "knum", "UPDATE knum SET id = id + 0.00 WHERE id > 0");
        await AppliesAndRollsBackExactlyAsync(system, "kci", "UPDATE kci SET id = upper(id), v = 'upper'");
        await IsStaleAsync(system, "UPDATE k8 SET v = 'same' WHERE id < 0", "UPDATE k8 SET v = 'other' WHERE id = (SELECT min(id) FROM k8)", "k8");
        await IsStaleAsync(system, "UPDATE ks SET v = 'same'", "UPDATE ks SET v = 'other' WHERE id = '日本'", "ks");
    }

    [Fact]
    public async Task An_update_is_previewed_alike_whether_its_key_is_ordered_or_its_rows_are_paired_by_hashing()
    {
        // The same rows under a key Warden orders (integer) and one it does not (numeric): an update's plan digests the first in key order
        // by a merge join, the second by pairing its rows; both must show the same counts, commonest values and one value after.
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE byint (id int PRIMARY KEY, v text, s int);
            INSERT INTO byint SELECT g, CASE WHEN g % 3 = 0 THEN 'even' ELSE 'v' || (g % 4) END, g % 2 FROM generate_series(1, 30) g ORDER BY md5(g::text);
            CREATE TABLE bynum (id numeric PRIMARY KEY, v text, s int);
            INSERT INTO bynum SELECT id, v, s FROM byint;
            """, "byint", "bynum");
        string[] statements =
        [
            "UPDATE {0} SET s = 1 WHERE id <= 10",
            "UPDATE {0} SET v = CASE WHEN id % 2 = 0 THEN 'even' ELSE v END",
            "UPDATE {0} SET v = CASE WHEN id % 2 = 0 THEN 'even' ELSE 'odd' END, s = s + 1",
            "UPDATE {0} SET id = CASE WHEN id % 2 = 0 THEN -id ELSE id END, v = 'moved'",
            "UPDATE {0} SET id = id + 100 WHERE id > 25",
            "UPDATE {0} SET v = v WHERE id < 5",
        ];

        foreach (var statement in statements)
        {
            var ordered = system.Plan(Warehouse.Call("execute", string.Format(System.Globalization.CultureInfo.InvariantCulture, statement, "byint"))).Get();
            var paired = system.Plan(Warehouse.Call("execute", string.Format(System.Globalization.CultureInfo.InvariantCulture, statement, "bynum"))).Get();

            Assert.Equal(paired.Summary.Replace("bynum", "byint", StringComparison.Ordinal), ordered.Summary);
            Assert.Equal(paired.Records, ordered.Records);
            Assert.Equal(Changes(paired, "bynum"), Changes(ordered, "byint"));
            await AppliesAndRollsBackExactlyAsync(system, "byint", string.Format(System.Globalization.CultureInfo.InvariantCulture, statement, "byint"));
        }

        static string Changes(Plan plan, string table) => string.Join("\n", plan.Changes.Select(c =>
            $"{c.Field.Replace(table, "t", StringComparison.Ordinal)} {c.Records} [{string.Join(", ", c.Before.Select(b => $"{b.Value}:{b.Records}"))}] -> {c.After}"));
    }

    [Fact]
    public async Task A_moved_row_of_a_table_whose_child_shares_its_keys_is_bound_by_the_plan()
    {
        // A primary key does not cover an inheriting table: the parent's transition tables hold the child's rows too, under keys the parent
        // has as well. A row whose key the update moves must still be bound, here on a table whose apply digests in the server (a domain over a
        // time), the same path as the plan's.
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE DOMAIN stamp AS timestamptz;
            CREATE TABLE ip (id int PRIMARY KEY, v text, at stamp);
            CREATE TABLE ic (id int PRIMARY KEY, v text, at stamp) INHERITS (ip);
            INSERT INTO ip VALUES (1, 'parent', NULL), (2, 'secret', NULL);
            INSERT INTO ic VALUES (1, 'child', NULL);
            """, "ip", "ic");

        await IsStaleAsync(system, "UPDATE ip SET id = CASE WHEN id = 2 THEN 20 ELSE id END, v = v || '!'", "UPDATE ONLY ip SET v = 'tampered' WHERE id = 2", "ip");
        var plan = system.Plan(Warehouse.Call("execute", "UPDATE ip SET id = CASE WHEN id = 2 THEN 20 ELSE id END, v = v || '!'")).Get();
        Assert.All(plan.Changes, c => Assert.True(c.Records > 0, $"{c.Field}: {c.Records}"));
    }

    [Fact]
    public async Task An_update_of_a_table_whose_child_shares_its_keys_applies_as_planned()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE jp (id int PRIMARY KEY, v text);
            CREATE TABLE jc (id int PRIMARY KEY, v text) INHERITS (jp);
            INSERT INTO jp VALUES (1, 'parent'), (2, 'other');
            INSERT INTO jc VALUES (1, 'child');
            """, "jp", "jc");

        var applied = await system.ApplyAsync(system.Plan(Warehouse.Call("execute", "UPDATE jp SET v = v || '!'")).Get(), null, Ct);

        Assert.True(applied.Error is null, $"{applied.Error?.Code} {applied.Error?.Message}");
        Assert.Equal("1:child!,1:parent!,2:other!", await server.ScalarAsync<string>(_warehouse.Database, "SELECT string_agg(format('%s:%s', id, v), ',' ORDER BY id, v) FROM jp"));
    }

    [Fact]
    public async Task Changes_are_captured_when_the_database_reads_backslashes_in_strings_the_old_way()
    {
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE oldstrings (id int PRIMARY KEY, v text);
            INSERT INTO oldstrings SELECT g, repeat('v', 1500 * (g % 2)) FROM generate_series(1, 10) g;
            DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = off', current_database()); END $$;
            """, "oldstrings");

        await AppliesAndRollsBackExactlyAsync(system, "oldstrings", "UPDATE oldstrings SET v = v || '!'");
        await AppliesAndRollsBackExactlyAsync(system, "oldstrings", "DELETE FROM oldstrings WHERE id > 5");
    }

    [Fact]
    public async Task A_table_whose_columns_are_named_like_the_rollbacks_own_names_rolls_back_exactly()
    {
        // Row by row (fewer than 20 rows of a kind) and set-based (20 or more), each finding rows by key and comparing them whole.
        await using var system = await _warehouse.OpenWithTablesAsync("""
            CREATE TABLE named (t int PRIMARY KEY, u text, v text, k text, b text, a text, s text, n int, state text, p text);
            INSERT INTO named SELECT g, 'u', 'v', 'k', 'b', 'a', 's', g, 'state', 'p' FROM generate_series(1, 60) g;
            """, "named");

        foreach (var sql in (string[])[
            "UPDATE named SET u = 'changed', n = n + 1 WHERE t <= 25", "UPDATE named SET u = 'one' WHERE t = 30",
            "DELETE FROM named WHERE t > 35", "DELETE FROM named WHERE t = 31",
            "INSERT INTO named (t, u) SELECT g, 'new' FROM generate_series(100, 125) g", "INSERT INTO named (t, u) VALUES (200, 'one')",
            "UPDATE named SET t = t + 1000 WHERE t <= 3"])
        {
            await AppliesAndRollsBackExactlyAsync(system, "named", sql);
        }
    }

    [Fact]
    public async Task Floats_roll_back_exactly_when_the_session_writes_floats_short()
    {
        await using var system = await PostgresDatabase.OpenAsync(
            _warehouse.Options with { ConnectionString = _warehouse.Options.ConnectionString + ";Options=-c extra_float_digits=0" }, cancellationToken: Ct);
        var before = await _warehouse.FingerprintAsync();
        var applied = (await system.ApplyAsync(system.Plan(Warehouse.Call("execute", "DELETE FROM contacts WHERE id <= 3")).Get(), null, Ct)).Get();

        (await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", Ct)).Get();

        Assert.Equal(before, await _warehouse.FingerprintAsync());
    }

    [Theory]
    [InlineData("addr", "ROW('s' || g, 'c')::addr")]
    [InlineData("addr[]", "ARRAY[ROW('s' || g, 'c')::addr]")]
    public async Task A_row_with_a_composite_column_rolls_back_after_its_type_gained_an_attribute(string type, string value)
    {
        await using var system = await _warehouse.OpenWithTablesAsync($"""
            CREATE TYPE addr AS (street text, city text);
            CREATE TABLE people (id int PRIMARY KEY, home {type});
            INSERT INTO people SELECT g, {value} FROM generate_series(1, 5) g
            """, "people");
        var applied = (await system.ApplyAsync(system.Plan(Warehouse.Call("execute", "DELETE FROM people WHERE id <= 2")).Get(), null, Ct)).Get();
        await server.ExecuteAsync(_warehouse.Database, "ALTER TYPE addr ADD ATTRIBUTE zip text");

        var rolledBack = await system.RollBackAsync(new RollbackRequest(applied.ActionId), ConflictResolution.Skip, "maria", Ct);

        Assert.True(rolledBack.Error is null, rolledBack.Error?.Message);
        Assert.Equal(2, await _warehouse.CountAsync("people", "id <= 2 AND (home::text) LIKE '%s%'"));
    }

    [Fact]
    public async Task A_journal_whose_compression_fails_says_so_and_never_leaves_its_writer_waiting()
    {
        using var compressor = new JournalImages.Compressor(new FailingStream());
        var write = Task.Run(() =>
        {
            var chunk = new byte[1 << 20];
            for (var i = 0; i < 40; i++)
            {
                compressor.Write(chunk, 0, chunk.Length);
            }
        }, Ct);

        var first = await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(30), Ct));

        Assert.Same(write, first);
        Assert.IsType<IOException>(await Record.ExceptionAsync(() => write));
    }

    private sealed class FailingStream : MemoryStream
    {
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("disk full");

        public override void Write(ReadOnlySpan<byte> buffer) => throw new IOException("disk full");
    }
}
