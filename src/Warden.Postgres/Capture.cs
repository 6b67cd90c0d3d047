using Npgsql;

namespace Warden.Postgres;

/// <summary>
/// How Warden sees exactly which rows a statement changes: statement triggers on every governed
/// table read the statement's transition tables (its rows before and after, kept by PostgreSQL
/// itself), and only in a transaction that Warden marked as capturing (a row in its session's
/// temporary table <c>warden_capturing</c>), that is, only in Warden's own sessions; other
/// sessions' writes pay for the transition tables and one lookup per statement. An update's rows
/// are paired by primary key: a key the statement changed shows as the old key deleted and the new
/// one inserted, which is what undoing it needs.
/// <para>
/// What the trigger does depends on the transaction's mode. To plan, it sums the statement up
/// itself, from the rows' typed columns, and copies no row: per table and kind of change a count
/// and a digest, per column the rows changing it, and a few rows whole as the sample
/// (<c>pg_temp.warden_summary</c>). To apply, it copies every row for the journal in binary form,
/// <c>record_send</c>, at a third of the cost of JSON, with the table's columns' names once (as
/// JSON for a table with a column that has no binary form, or a composite one)
/// (<c>pg_temp.warden_rows</c>), and writes down what Warden needs to make the same digests from
/// those rows (<see cref="FiringDigest"/>; for a table it cannot, it makes them itself); to roll
/// back, it only copies the rows.
/// The agent's statement cannot turn it off or feed it: it is one statement, it may name only
/// governed tables (not the temporary ones), and changing a trigger is a schema change.
/// </para>
/// </summary>
internal static class Capture
{
    public const string Schema = "warden";

    /// <summary>The triggers' names start with this; one per kind of change (PostgreSQL allows transition tables on one event per trigger).</summary>
    public const string Trigger = "warden_capture";

    /// <summary>Written into the capture function; one without it was installed by an earlier Warden, whose trigger this one cannot read.</summary>
    public const string Version = "warden capture 6";

    private static readonly string[] Operations = ["insert", "update", "delete"];

    /// <summary>
    /// The capture function. Each firing reads the table's columns and key from the catalog (so a
    /// column added since Warden started is captured too). To copy rows it reads the transition
    /// tables as <c>(op, moved, o, n)</c>: the kind of change, whether the row's key moved, and the
    /// row before and after, whole; to sum them up it reads them column by column,
    /// <c>(op, moved, o1.., n1..)</c>, in one pass for the digests and the counts.
    /// <list type="bullet">
    /// <item>A row is its image before and its image after as one record in binary form
    /// (<c>record_send</c>: the count of columns, then each one's type, length and bytes, so rows
    /// written one after another read back one way). After, a time equal to the transaction's
    /// (<c>now()</c>, <c>localtimestamp</c>) is a flag, so <c>SET last_seen = now()</c> is the same
    /// change at plan and at apply. An inserted row leaves out the columns a sequence feeds, and its
    /// key when the statement draws from a sequence: those move on every try (an update's row whose
    /// key moved leaves out nothing: an UPDATE writes the key it computes). A firing's digest, per
    /// kind of change, is sha256 over its rows one after another, sorted by key, then by those
    /// bytes, so the order the statement wrote them in does not matter; a row longer than 1 KB (or
    /// than 32 MB shared among the firing's rows) goes in as -1, which no record's count of columns
    /// is, and its own sha256. The key's order is its binary form's, byte by byte, except for an
    /// update of a table whose key is ordered (a primary key never deferred and covering every row
    /// of the transition tables, so each side's keys are unique; integers, dates and times, uuid,
    /// booleans, text in UTF-8 under a collation that tells keys apart byte by byte; and an apply
    /// Warden digests from the copied rows): its rows are paired by a merge join sorted by the
    /// key's type, and digested in that order, with no sort of the pairs and no hash table, a third
    /// cheaper for a plan. Its keys' digest is over their binary form in that order (an ordered key
    /// of one fixed-size column: that column's bytes alone). Warden hashes the firings' digests
    /// sorted (<see cref="GroupsSql"/>).</item>
    /// <item>A plan's preview: per column, the rows changing it (every inserted and deleted row,
    /// an updated row whose value differs, compared by value for common types and as text for the
    /// rest) and the one value every changed row gets, if there is one, in the same pass; then the
    /// five commonest values before of each column changed, from the rows before alone when every
    /// row changed it and no key moved (else from the pairs again), and the first rows, looked up
    /// alone. A statement whose rows of one table come in several firings (a cascade, one per
    /// parent row) has these summed per firing: the counts are exact, the commonest values are each
    /// firing's five.</item>
    /// </list>
    /// </summary>
    private const string FunctionBody = """
        DECLARE
          name text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
          rowtype text := format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME);
          setting record;
          cols text[]; kinds text[]; sequenced boolean[]; domains boolean[]; nested boolean[]; keys integer[]; copied bigint; firing bigint;
          alias text; pairs text; narrow text; before_columns text; after_columns_read text; sources text[]; ops text[]; present text[]; whole bigint;
          before_image text; after_columns text[]; after_image text; inserted_image text; s integer;
          key_select text; key_match text; differs text[]; changes text[]; befores text[]; afters text[]; types oid[]; collations oid[]; ordered boolean; counted bigint; side_rows bigint; column_rows bigint[]; rows_digest bytea; keys_digest bytea;
          key_order text; key_join text; key_bytes text; ones_after text[]; ones_paired text[]; column_index integer; long_row text;
          -- The one value every changed row gets, if there is one: of a column's values after (%1$s), under a filter for the changed rows (%2$s).
          one_value CONSTANT text := 'CASE WHEN count(%1$s)%2$s = count(*)%2$s AND min(%1$s)%2$s = max(%1$s)%2$s THEN to_jsonb(min(%1$s)%2$s) #>> ''{}'' END';
          mark bigint; total bigint; moved bigint; changed record; room bigint; merging text := current_setting('enable_mergejoin'); hashing text := current_setting('enable_hashjoin');
        BEGIN
          IF to_regclass('pg_temp.warden_capturing') IS NULL THEN
            RETURN NULL;
          END IF;
          SELECT c.mode, c.drawn, c.sample INTO setting FROM pg_temp.warden_capturing c LIMIT 1;
          IF NOT FOUND THEN
            RETURN NULL;
          END IF;

          SELECT array_agg(a.attname::text ORDER BY a.attnum),
                 array_agg(CASE WHEN b.base = 1184 THEN 'zoned' WHEN b.base = 1114 THEN 'local' WHEN b.base IN (25, 1043) THEN 'text'
                                WHEN b.base IN (20, 21, 23, 700, 701, 1700, 1082) THEN 'plain' WHEN t.typsend::oid = 0 OR t.typreceive::oid = 0 THEN 'text only' ELSE 'other' END ORDER BY a.attnum),
                 array_agg(a.attidentity <> '' OR EXISTS (
                             SELECT 1 FROM pg_attrdef d JOIN pg_depend p ON p.classid = 'pg_attrdef'::regclass AND p.objid = d.oid AND p.refclassid = 'pg_class'::regclass
                             JOIN pg_class s ON s.oid = p.refobjid AND s.relkind = 'S' WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum) ORDER BY a.attnum),
                 array_agg(t.typtype = 'd' ORDER BY a.attnum), array_agg(a.atttypid ORDER BY a.attnum), array_agg(a.attcollation ORDER BY a.attnum),
                 -- A composite value (or an array or domain of one) is read back by the type as it is at the rollback: as JSON, which reads by name.
                 array_agg(EXISTS (SELECT 1 FROM pg_type x WHERE x.typtype = 'c' AND x.oid IN (
                             SELECT y.oid FROM pg_type y WHERE y.oid IN (t.oid, b.base, t.typelem)
                             UNION SELECT z.typelem FROM pg_type z WHERE z.oid IN (b.base, t.typelem)
                             UNION SELECT w.typbasetype FROM pg_type w WHERE w.oid IN (t.typelem, (SELECT v.typelem FROM pg_type v WHERE v.oid = b.base)))) ORDER BY a.attnum)
          INTO cols, kinds, sequenced, domains, types, collations, nested
          FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid CROSS JOIN LATERAL (SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END AS base) b
          WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped;
          SELECT array_agg(array_position(cols, a.attname::text) ORDER BY k.n) INTO keys
          FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = TG_RELID AND i.indisprimary;
          -- An update of a table whose rows the capture copies in binary form pairs its rows by a merge join in key order (below) when its key
          -- is ordered: a primary key checked row by row (never deferred) of a table without children that the key does not cover (a
          -- partitioned table's key covers its partitions; an inheriting table's rows come in its parent's transition tables under keys the
          -- parent's may share), so each side's keys are unique, whose columns' order Warden knows too (Warden.Postgres.FiringDigest):
          -- integers, dates and times, uuid, booleans, and text in UTF-8 byte order whose collation tells keys apart byte by byte (one that
          -- does not, such as one ignoring case, pairs 'a' with 'A', which the merge join by bytes would not). And only where Warden makes
          -- the apply's digests from the copied rows (not for a domain over a time): what the plan digests this way, the apply checks from
          -- every row it copied, paired by a hash join, never by this same path.
          ordered := TG_OP = 'UPDATE' AND keys IS NOT NULL AND NOT ('text only' = ANY(kinds) OR true = ANY(nested))
                     AND NOT EXISTS (SELECT 1 FROM unnest(kinds, domains) AS u(k, d) WHERE d AND k IN ('zoned', 'local'))
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = TG_RELID AND c.contype = 'p' AND c.condeferrable)
                     AND NOT EXISTS (SELECT 1 FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent WHERE h.inhparent = TG_RELID AND p.relkind <> 'p')
                     AND NOT EXISTS (SELECT 1 FROM unnest(keys) k WHERE NOT (types[k] IN (16, 20, 21, 23, 1082, 1114, 1184, 2950)
                                       OR (types[k] IN (25, 1043) AND current_setting('server_encoding') = 'UTF8' AND current_setting('client_encoding') = 'UTF8'
                                           AND (SELECT c.collisdeterministic FROM pg_collation c WHERE c.oid = collations[k]))));

          -- A row is named by an alias none of the table's columns has (a column named like it would be read instead of the row).
          alias := 'r';
          WHILE alias = ANY(cols) LOOP
            alias := alias || '_';
          END LOOP;
          -- A key's columns read as k1.., and the match of a row before with a row after by them.
          key_select := (SELECT string_agg(format('%I.%I AS k%s', alias, cols[k], i), ', ') FROM unnest(keys) WITH ORDINALITY AS u(k, i));
          key_match := (SELECT string_agg(format('o.k%1$s = n.k%1$s', i), ' AND ') FROM unnest(keys) WITH ORDINALITY AS u(k, i));

          -- The statement's rows whole, as (op, moved, o, n), to copy them: an update's paired by key; one whose key changed, or of a table without a
          -- key, as a delete and an insert.
          IF TG_OP = 'INSERT' THEN
            pairs := format('SELECT ''INSERT''::text AS op, false AS moved, NULL::%1$s AS o, %2$I AS n FROM warden_new %2$I', rowtype, alias);
          ELSIF TG_OP = 'DELETE' THEN
            pairs := format('SELECT ''DELETE''::text AS op, false AS moved, %2$I AS o, NULL::%1$s AS n FROM warden_old %2$I', rowtype, alias);
          ELSIF keys IS NULL THEN
            -- (A transition table's row is an anonymous record: as the table's type, to be one column with the other branch's.)
            pairs := format('SELECT ''DELETE''::text AS op, true AS moved, %2$I::%1$s AS o, NULL::%1$s AS n FROM warden_old %2$I UNION ALL SELECT ''INSERT'', true, NULL::%1$s, %2$I::%1$s FROM warden_new %2$I',
                            rowtype, alias);
          ELSE
            pairs := format(
              'SELECT CASE WHEN n.here IS NULL THEN ''DELETE'' WHEN o.here IS NULL THEN ''INSERT'' ELSE ''UPDATE'' END AS op, n.here IS NULL OR o.here IS NULL AS moved, o.r AS o, n.r AS n '
              'FROM (SELECT true AS here, %2$I AS r, %1$s FROM warden_old %2$I) o FULL JOIN (SELECT true AS here, %2$I AS r, %1$s FROM warden_new %2$I) n ON %3$s',
              key_select, alias, key_match);
          END IF;

          -- A merge join would sort both transition tables (the planner's guess for them is blind): off for the trigger's own statements, then as it was.
          PERFORM set_config('enable_mergejoin', 'off', true);
          IF setting.mode IN ('apply', 'rows') AND ('text only' = ANY(kinds) OR true = ANY(nested)) THEN
            EXECUTE format('INSERT INTO pg_temp.warden_rows (tbl, op, before, after, moved) '
                           'SELECT $1, op, CASE WHEN op <> ''INSERT'' THEN row_to_json(o)::text END, CASE WHEN op <> ''DELETE'' THEN row_to_json(n)::text END, moved FROM (%s) j', pairs) USING name;
          ELSIF setting.mode IN ('apply', 'rows') THEN
            -- In binary form, a third of the cost of JSON; the journal keeps the columns' names once per table, and a rollback reads the rows back as JSON.
            -- To apply, Warden digests these same bytes itself (Warden.Postgres.FiringDigest), as the query below would: the firing is numbered, and
            -- what the digest needs of the table written down. (Not for a domain over a time: the flag's type would be the domain's base type.)
            IF setting.mode = 'apply' AND NOT EXISTS (SELECT 1 FROM unnest(kinds, domains) AS u(k, d) WHERE d AND k IN ('zoned', 'local')) THEN
              firing := (SELECT coalesce(max(n), 0) + 1 FROM pg_temp.warden_summary WHERE kind = 'firing');
            END IF;
            EXECUTE format('INSERT INTO pg_temp.warden_rows (tbl, op, before_record, after_record, moved, firing) '
                           'SELECT $1, op, CASE WHEN op <> ''INSERT'' THEN record_send(o) END, CASE WHEN op <> ''DELETE'' THEN record_send(n) END, moved, $2 FROM (%s) j', pairs)
              USING name, firing;
            GET DIAGNOSTICS copied = ROW_COUNT;
            IF NOT EXISTS (SELECT 1 FROM pg_temp.warden_summary WHERE kind = 'shape' AND tbl = name) THEN
              INSERT INTO pg_temp.warden_summary (tbl, kind, value) VALUES (name, 'shape', array_to_json(cols)::text);
            END IF;
            IF firing IS NOT NULL THEN
              INSERT INTO pg_temp.warden_summary (tbl, kind, op, n, value)
              VALUES (name, 'firing', TG_OP, firing, json_build_object('rows', copied, 'keys', keys, 'kinds', kinds, 'sequenced', sequenced, 'drawn', setting.drawn, 'ordered', ordered)::text);
              PERFORM set_config('enable_mergejoin', merging, true);
              RETURN NULL;
            END IF;
          END IF;
          IF setting.mode = 'rows' THEN
            PERFORM set_config('enable_mergejoin', merging, true);
            RETURN NULL;
          END IF;

          -- The same rows column by column, for the digests and the counts, as (op, moved, o1.., n1..): the columns before and after. An update's are
          -- paired by key as above; without a key, its rows before are deleted and its rows after inserted, each read on its own.
          -- (Each list is built with its own names, never by editing another's text: a column may be named "x AS v".)
          narrow := (SELECT string_agg(format('%I.%I AS v%s', alias, c, i), ', ') FROM unnest(cols) WITH ORDINALITY AS u(c, i));
          before_columns := (SELECT string_agg(format('%I.%I AS o%s', alias, c, i), ', ') FROM unnest(cols) WITH ORDINALITY AS u(c, i));
          after_columns_read := (SELECT string_agg(format('%I.%I AS n%s', alias, c, i), ', ') FROM unnest(cols) WITH ORDINALITY AS u(c, i));
          IF TG_OP = 'UPDATE' AND keys IS NOT NULL THEN
            sources := ARRAY[format(
              'SELECT CASE WHEN n.here IS NULL THEN ''DELETE'' WHEN o.here IS NULL THEN ''INSERT'' ELSE ''UPDATE'' END AS op, n.here IS NULL OR o.here IS NULL AS moved, '
              'o.here IS NOT NULL AND n.here IS NOT NULL AS paired, n.here IS NULL AS gone, o.here IS NULL AS came, %1$s, %2$s '
              'FROM (SELECT true AS here, %3$s FROM warden_old %4$I) o FULL JOIN (SELECT true AS here, %3$s FROM warden_new %4$I) n ON %5$s',
              (SELECT string_agg(format('o.v%1$s AS o%1$s', i), ', ') FROM generate_subscripts(cols, 1) i),
              (SELECT string_agg(format('n.v%1$s AS n%1$s', i), ', ') FROM generate_subscripts(cols, 1) i),
              narrow, alias,
              (SELECT string_agg(format('o.v%1$s = n.v%1$s', k), ' AND ') FROM unnest(keys) k))];
            ops := ARRAY['UPDATE'];
          ELSIF TG_OP = 'UPDATE' THEN
            sources := ARRAY[format('SELECT ''DELETE''::text AS op, true AS moved, %s FROM warden_old %I', before_columns, alias),
                             format('SELECT ''INSERT''::text AS op, true AS moved, %s FROM warden_new %I', after_columns_read, alias)];
            ops := ARRAY['DELETE', 'INSERT'];
          ELSIF TG_OP = 'DELETE' THEN
            sources := ARRAY[format('SELECT ''DELETE''::text AS op, false AS moved, %s FROM warden_old %I', before_columns, alias)];
            ops := ARRAY['DELETE'];
          ELSE
            sources := ARRAY[format('SELECT ''INSERT''::text AS op, false AS moved, %s FROM warden_new %I', after_columns_read, alias)];
            ops := ARRAY['INSERT'];
          END IF;

          -- Each row as its image before and its image after in binary form (record_send), as one record. After, a time equal to the transaction's
          -- is a flag, so SET last_seen = now() is the same change at plan and at apply; an inserted row leaves out the columns a sequence feeds, and
          -- its key when the statement draws from a sequence (drawn), which move on every try (not a moved row: an UPDATE writes the key it computes).
          -- A group's digest is over its rows sorted by key (text byte by byte), then by those bytes; the digest of its keys is over their binary
          -- form in that order.
          before_image := (SELECT string_agg(CASE WHEN k = 'text only' THEN format('o%s::text', i) ELSE format('o%s', i) END, ', ' ORDER BY i) FROM unnest(kinds) WITH ORDINALITY AS u(k, i));
          after_columns := ARRAY(SELECT CASE k WHEN 'zoned' THEN format('nullif(n%1$s, now()), n%1$s = now()', i) WHEN 'local' THEN format('nullif(n%1$s, localtimestamp), n%1$s = localtimestamp', i)
                                                WHEN 'text only' THEN format('n%s::text', i) ELSE format('n%s', i) END
                                 FROM unnest(kinds) WITH ORDINALITY AS u(k, i) ORDER BY i);
          after_image := array_to_string(after_columns, ', ');
          inserted_image := (SELECT string_agg(e, ', ' ORDER BY i) FROM unnest(after_columns, sequenced) WITH ORDINALITY AS u(e, q, i) WHERE NOT q AND NOT (setting.drawn AND i = ANY(coalesce(keys, '{}'))));
          inserted_image := CASE WHEN inserted_image IS NULL THEN $$''::bytea$$ ELSE format('record_send(ROW(%s))', inserted_image) END;
          -- Per column, over (op, o1.., n1..): whether an updated row changes it (by value for common types, as text for the rest), and its value
          -- before and after as the preview compares and shows them.
          differs := ARRAY(SELECT CASE WHEN k IN ('plain', 'zoned', 'local', 'text') THEN format('o%1$s IS DISTINCT FROM n%1$s', i)
                                       ELSE format('o%1$s::text IS DISTINCT FROM n%1$s::text', i) END
                           FROM unnest(kinds) WITH ORDINALITY AS u(k, i) ORDER BY i);
          changes := ARRAY(SELECT format('(NOT paired OR %s)', d) FROM unnest(differs) WITH ORDINALITY AS u(d, i) ORDER BY i);
          befores := ARRAY(SELECT CASE WHEN k IN ('plain', 'zoned', 'local') THEN format('o%s', i) WHEN k = 'text' THEN format('o%s COLLATE "C"', i) ELSE format('o%s::text COLLATE "C"', i) END
                           FROM unnest(kinds) WITH ORDINALITY AS u(k, i) ORDER BY i);
          afters := ARRAY(SELECT CASE WHEN k IN ('plain', 'zoned', 'local') THEN format('n%s', i) WHEN k = 'text' THEN format('n%s COLLATE "C"', i) ELSE format('n%s::text COLLATE "C"', i) END
                          FROM unnest(kinds) WITH ORDINALITY AS u(k, i) ORDER BY i);
          mark := (SELECT coalesce(max(seq), 0) FROM pg_temp.warden_summary);
          -- The rows hashed whole, not each on its own (a call of sha256 per row cost as much as its bytes): those up to this size, at most 32 MB
          -- for the firing's rows; a longer row is hashed on its own first, so the sort carries its sha256, not its bytes. The firing's rows decide
          -- the size, so a plan and its apply, which must see the same rows, decide alike.
          IF TG_OP = 'INSERT' THEN
            EXECUTE 'SELECT count(*) FROM warden_new' INTO total;
          ELSE
            EXECUTE 'SELECT count(*) FROM warden_old' INTO total;
          END IF;
          whole := least(1024, 33554432 / greatest(total, 1));
          -- A row as the digests take it: whole up to that size, else -1 (which no record's count of columns is) and its sha256.
          long_row := format('CASE WHEN length(b) <= %s THEN b ELSE decode(''ffffffff'', ''hex'') || sha256(b) END', whole);

          -- An update of a table with an ordered key (above): its rows paired by a merge join of the two transition tables sorted by key, so the
          -- pairs come in key order with no sort of their own, in one pass for the digest and, in a plan, the rows changing each column. Its
          -- digests are over the pairs in key order (the order of the key's type; text byte by byte), the key's bytes a fixed-size column's own,
          -- else the key's columns as a record. A key that moved leaves rows on one side only: those before as deleted, those after as inserted,
          -- each in key order.
          IF ordered THEN
            key_join := (SELECT string_agg(format('o.o%1$s%2$s = n.n%1$s%2$s', k, CASE WHEN types[k] IN (25, 1043) THEN ' COLLATE "C"' ELSE '' END), ' AND ') FROM unnest(keys) k);
            key_order := (SELECT string_agg(format('o.o%s%s', k, CASE WHEN types[k] IN (25, 1043) THEN ' COLLATE "C"' ELSE '' END), ', ') FROM unnest(keys) k);
            key_bytes := CASE WHEN cardinality(keys) = 1 AND types[keys[1]] NOT IN (25, 1043)
                              THEN format('%s(o.o%s)', CASE types[keys[1]] WHEN 16 THEN 'boolsend' WHEN 20 THEN 'int8send' WHEN 21 THEN 'int2send' WHEN 23 THEN 'int4send'
                                                         WHEN 1082 THEN 'date_send' WHEN 1114 THEN 'timestamp_send' WHEN 1184 THEN 'timestamptz_send' ELSE 'uuid_send' END, keys[1])
                              ELSE format('record_send(ROW(%s))', (SELECT string_agg(format('o.o%s', k), ', ') FROM unnest(keys) k)) END;
            PERFORM set_config('enable_mergejoin', 'on', true), set_config('enable_hashjoin', 'off', true);
            EXECUTE format(
              'SELECT count(*), ARRAY[%1$s]::bigint[], sha256(string_agg(%2$s, ''''::bytea)), '
              'sha256(string_agg(kb, ''''::bytea)) '
              'FROM (SELECT record_send(ROW(%3$s, %4$s)) AS b, %5$s AS kb%6$s '
              'FROM (SELECT %7$s FROM warden_old %8$I) o JOIN (SELECT %9$s FROM warden_new %8$I) n ON %10$s ORDER BY %11$s) s',
              CASE WHEN setting.mode = 'plan' THEN (SELECT string_agg(CASE WHEN i = ANY(keys) THEN '0' ELSE format('count(*) FILTER (WHERE c%s)', i) END, ', ' ORDER BY i) FROM generate_subscripts(cols, 1) i) ELSE '' END,
              long_row, before_image, after_image, key_bytes,
              CASE WHEN setting.mode = 'plan' THEN (SELECT string_agg(format(', %s AS c%s', differs[i], i), '' ORDER BY i) FROM generate_subscripts(cols, 1) i WHERE NOT i = ANY(keys)) ELSE '' END,
              before_columns, alias, after_columns_read, key_join, key_order)
            INTO side_rows, column_rows, rows_digest, keys_digest;
            IF side_rows > total THEN
              RAISE EXCEPTION 'the rows of % pair more than one to one by their key (% pairs of % rows): a key is on one side twice', name, side_rows, total;
            END IF;
            IF side_rows > 0 THEN
              INSERT INTO pg_temp.warden_summary (tbl, kind, op, n, moved, digest, keys) VALUES (name, 'group', 'UPDATE', side_rows, 0, rows_digest, keys_digest);
            END IF;
            -- An update's transition tables hold a row before and a row after for each row it updated: with every row before paired, so is
            -- every row after.
            moved := total - side_rows;
            counted := total;
            IF moved > 0 THEN
              EXECUTE 'SELECT count(*) FROM warden_new' INTO counted;
              EXECUTE format(
                'SELECT count(*), sha256(string_agg(%1$s, ''''::bytea)), sha256(string_agg(kb, ''''::bytea)) '
                'FROM (SELECT record_send(ROW(%2$s)) AS b, %3$s AS kb FROM (SELECT %4$s FROM warden_old %5$I) o '
                'WHERE NOT EXISTS (SELECT FROM (SELECT %6$s FROM warden_new %5$I) n WHERE %7$s) ORDER BY %8$s) s',
                long_row, before_image, key_bytes, before_columns, alias, after_columns_read, key_join, key_order)
              INTO side_rows, rows_digest, keys_digest;
              INSERT INTO pg_temp.warden_summary (tbl, kind, op, n, moved, digest, keys) SELECT name, 'group', 'DELETE', side_rows, side_rows, rows_digest, keys_digest WHERE side_rows > 0;
              EXECUTE format(
                'SELECT count(*), sha256(string_agg(%1$s, ''''::bytea)), sha256(string_agg(''''::bytea, ''''::bytea)) '
                'FROM (SELECT record_send(ROW(%2$s)) AS b FROM (SELECT %3$s FROM warden_new %4$I) n '
                'WHERE NOT EXISTS (SELECT FROM (SELECT %5$s FROM warden_old %4$I) o WHERE %6$s) ORDER BY %7$s) s',
                long_row, after_image, after_columns_read, alias, before_columns, key_join, replace(key_order, 'o.o', 'n.n'))
              INTO side_rows, rows_digest, keys_digest;
              INSERT INTO pg_temp.warden_summary (tbl, kind, op, n, moved, digest, keys) SELECT name, 'group', 'INSERT', side_rows, side_rows, rows_digest, keys_digest WHERE side_rows > 0;
            END IF;
            PERFORM set_config('enable_mergejoin', 'off', true), set_config('enable_hashjoin', hashing, true);
            IF setting.mode = 'plan' THEN
              -- Per column, the rows changing it: the pairs that change it, and every row of a moved key. The one value every changed row gets,
              -- if there is one (none if a key moved: its row before is deleted): over the rows after alone for a column every row changes, else
              -- over the pairs that change it.
              ones_after := array_fill(NULL::text, ARRAY[cardinality(cols)]);
              ones_paired := ones_after;
              IF moved = 0 AND EXISTS (SELECT 1 FROM unnest(column_rows) c WHERE c = total AND c > 0) THEN
                EXECUTE format('SELECT ARRAY[%s]::text[] FROM (SELECT %s FROM warden_new %I) p',
                               (SELECT string_agg(CASE WHEN column_rows[i] = total AND total > 0
                                                       THEN format(one_value, afters[i], '')
                                                       ELSE 'NULL' END, ', ' ORDER BY i) FROM generate_subscripts(cols, 1) i),
                               after_columns_read, alias) INTO ones_after;
              END IF;
              IF moved = 0 AND EXISTS (SELECT 1 FROM unnest(column_rows) c WHERE c < total AND c > 0) THEN
                EXECUTE format('SELECT ARRAY[%s]::text[] FROM (SELECT %s FROM warden_old %I) o JOIN (SELECT %s FROM warden_new %I) n ON %s',
                               (SELECT string_agg(CASE WHEN column_rows[i] < total AND column_rows[i] > 0
                                                       THEN format(one_value, afters[i], format(' FILTER (WHERE %s)', differs[i]))
                                                       ELSE 'NULL' END, ', ' ORDER BY i) FROM generate_subscripts(cols, 1) i),
                               before_columns, alias, after_columns_read, alias, key_join) INTO ones_paired;
              END IF;
              FOR column_index IN 1 .. cardinality(cols) LOOP
                CONTINUE WHEN column_rows[column_index] = 0 AND moved = 0;
                INSERT INTO pg_temp.warden_summary (tbl, kind, col, n, value)
                VALUES (name, 'column', cols[column_index], column_rows[column_index] + moved + (counted - total + moved), coalesce(ones_after[column_index], ones_paired[column_index]));
              END LOOP;
            END IF;
          END IF;

          FOR s IN 1 .. cardinality(sources) LOOP
            EXIT WHEN ordered;
            -- One aggregate over the source's rows sorted by key, then digest: per kind of change in it (an update's pairs may hold moved keys'
            -- deletes and inserts) its count and digests, each over its own rows in that order; in a plan, per column, the rows changing it and the
            -- one value every changed row gets (none if a row is deleted). Sorted by the key first, not by the kind: a sort whose first column is the
            -- same in every row compares each pair of rows again by the next, and that cost as much as the rest of the digest.
            present := CASE WHEN ops[s] = 'UPDATE' THEN ARRAY['UPDATE', 'DELETE', 'INSERT'] ELSE ARRAY[ops[s]] END;
            EXECUTE format(
              'WITH g AS (SELECT %1$s%2$s FROM (SELECT %10$s AS rd, op, moved, kb%5$s%9$s '
              'FROM (SELECT p.*, %3$s AS b, %4$s AS kb FROM (%6$s) p OFFSET 0) p ORDER BY kb, rd) s) '
              'INSERT INTO pg_temp.warden_summary (tbl, kind, op, col, n, moved, digest, keys, value) '
              'SELECT $1, ''group'', u.op, NULL, u.n, u.moved, u.digest, u.keys, NULL FROM g CROSS JOIN LATERAL (VALUES %7$s) AS u(op, n, moved, digest, keys) WHERE u.n > 0%8$s',
              (SELECT string_agg(format('count(*)%2$s AS n%1$s, count(*) FILTER (WHERE %3$smoved) AS m%1$s, '
                                        'sha256(string_agg(rd, ''''::bytea)%2$s) AS d%1$s, '
                                        'sha256(string_agg(kb, ''''::bytea)%2$s) AS k%1$s',
                                        j, CASE WHEN cardinality(present) > 1 THEN format(' FILTER (WHERE %s)', f) ELSE '' END,
                                        CASE WHEN cardinality(present) > 1 THEN format('%s AND ', f) ELSE '' END), ', ' ORDER BY j)
               FROM unnest(present, ARRAY['paired', 'gone', 'came']) WITH ORDINALITY AS u(o, f, j) WHERE o IS NOT NULL),
              CASE WHEN setting.mode <> 'plan' THEN ''
                   WHEN ops[s] = 'DELETE' THEN (SELECT string_agg(format(', count(*) AS cn%1$s, NULL::text AS cv%1$s', i), '' ORDER BY i) FROM generate_subscripts(cols, 1) i)
                   ELSE (SELECT string_agg(format(', count(*) FILTER (WHERE c%1$s) AS cn%1$s, %2$s AS cv%1$s', i, format(one_value, 'a' || i, format(' FILTER (WHERE c%s)', i))),
                                          '' ORDER BY i) FROM generate_subscripts(cols, 1) i) END,
              CASE ops[s] WHEN 'DELETE' THEN format('record_send(ROW(%s))', before_image)
                          WHEN 'INSERT' THEN CASE WHEN TG_OP = 'INSERT' THEN inserted_image ELSE format('record_send(ROW(%s))', after_image) END
                          ELSE format('CASE WHEN paired THEN record_send(ROW(%1$s, %2$s)) WHEN gone THEN record_send(ROW(%1$s)) ELSE record_send(ROW(%2$s)) END',
                                      before_image, after_image) END,
              CASE WHEN keys IS NULL OR ops[s] = 'INSERT' THEN $$''::bytea$$
                   WHEN ops[s] = 'DELETE' THEN format('record_send(ROW(%s))', (SELECT string_agg(format('o%s', k), ', ') FROM unnest(keys) k))
                   ELSE format('CASE WHEN came THEN ''''::bytea ELSE record_send(ROW(%s)) END', (SELECT string_agg(format('o%s', k), ', ') FROM unnest(keys) k)) END,
              CASE WHEN setting.mode <> 'plan' OR ops[s] = 'DELETE' THEN ''
                   ELSE (SELECT string_agg(format(', %s AS c%s, %s AS a%s', CASE WHEN ops[s] <> 'UPDATE' THEN 'true' ELSE changes[i] END, i, afters[i], i), '' ORDER BY i)
                         FROM generate_subscripts(cols, 1) i) END,
              sources[s],
              (SELECT string_agg(format('(%L, g.n%2$s, g.m%2$s, g.d%2$s, g.k%2$s)', o, j), ', ' ORDER BY j) FROM unnest(present) WITH ORDINALITY AS u(o, j)),
              CASE WHEN setting.mode <> 'plan' THEN ''
                   ELSE format(' UNION ALL SELECT $1, ''column'', NULL, u.col, u.n, NULL, NULL, NULL, u.value FROM g CROSS JOIN LATERAL (VALUES %s) AS u(col, n, value) WHERE u.n > 0',
                               (SELECT string_agg(format('(%L, g.cn%s, g.cv%s)', c, i, i), ', ' ORDER BY i) FROM unnest(cols) WITH ORDINALITY AS u(c, i))) END,
              CASE WHEN cardinality(present) > 1 THEN ', paired, gone, came' ELSE '' END,
              long_row)
            USING name;
          END LOOP;
          IF setting.mode = 'apply' THEN
            PERFORM set_config('enable_mergejoin', merging, true);
            RETURN NULL;
          END IF;

          -- A plan's preview as well: per column changed, its five commonest values before among the rows changing it (every inserted and deleted
          -- row, an updated row whose value differs): from the rows before alone when every row changed it and no key moved, else from the pairs
          -- again. Then the first rows whole, as the sample.
          SELECT sum(g.n), sum(g.moved) INTO total, moved FROM pg_temp.warden_summary g WHERE g.seq > mark AND g.kind = 'group';
          FOR changed IN SELECT c.col, sum(c.n) AS n FROM pg_temp.warden_summary c WHERE c.seq > mark AND c.kind = 'column' GROUP BY c.col LOOP
            s := array_position(cols, changed.col);
            IF TG_OP = 'INSERT' THEN
              INSERT INTO pg_temp.warden_summary (tbl, kind, col, n, value) VALUES (name, 'value', changed.col, changed.n, NULL);
            ELSIF TG_OP = 'DELETE' OR keys IS NULL OR (changed.n = total AND moved = 0) THEN
              EXECUTE format('INSERT INTO pg_temp.warden_summary (tbl, kind, col, n, value) SELECT $1, ''value'', %L, count(*), to_jsonb(v) #>> ''{}'' '
                             'FROM (SELECT %s AS v FROM (SELECT %I.%I AS o%s FROM warden_old %I) p) x GROUP BY v ORDER BY 4 DESC, v NULLS FIRST LIMIT 5',
                             changed.col, befores[s], alias, changed.col, s, alias) USING name;
              IF TG_OP = 'UPDATE' AND keys IS NULL THEN
                -- Without a key, every row after is an insert, whose value before is none.
                EXECUTE 'INSERT INTO pg_temp.warden_summary (tbl, kind, col, n, value) SELECT $1, ''value'', $2, count(*), NULL FROM warden_new HAVING count(*) > 0' USING name, changed.col;
              END IF;
            ELSE
              EXECUTE format('INSERT INTO pg_temp.warden_summary (tbl, kind, col, n, value) SELECT $1, ''value'', %L, count(*), to_jsonb(v) #>> ''{}'' '
                             'FROM (SELECT %s AS v FROM (%s) p WHERE %s) x GROUP BY v ORDER BY 4 DESC, v NULLS FIRST LIMIT 5',
                             changed.col, befores[s], sources[1], changes[s]) USING name;
            END IF;
          END LOOP;

          room := setting.sample - (SELECT count(*) FROM pg_temp.warden_summary WHERE kind = 'sample');
          IF room > 0 THEN
            IF TG_OP = 'UPDATE' AND keys IS NOT NULL AND moved = 0 THEN
              -- The first rows before, and their rows after: only they are looked up (a moved key's row after has no row before to be found by).
              pairs := format(
                'SELECT CASE WHEN n.here IS NULL THEN ''DELETE'' ELSE ''UPDATE'' END AS op, n.here IS NULL AS moved, o.r AS o, n.r AS n '
                'FROM (SELECT true AS here, %2$I AS r, %1$s FROM warden_old %2$I LIMIT $2) o LEFT JOIN (SELECT true AS here, %2$I AS r, %1$s FROM warden_new %2$I) n ON %3$s',
                key_select, alias, key_match);
            END IF;
            EXECUTE format(
              'INSERT INTO pg_temp.warden_summary (tbl, kind, op, before, after, key) '
              'SELECT $1, ''sample'', op, CASE WHEN op <> ''INSERT'' THEN to_jsonb(o)::text END, CASE WHEN op <> ''DELETE'' THEN to_jsonb(n)::text END, %s FROM (%s) j LIMIT $2',
              CASE WHEN keys IS NULL THEN $$''$$
                   ELSE format('concat_ws('','', %s)', (SELECT string_agg(format('to_jsonb(CASE WHEN op = ''INSERT'' THEN (n).%1$I ELSE (o).%1$I END) #>> ''{}''', cols[k]), ', ') FROM unnest(keys) k)) END,
              pairs) USING name, room;
          END IF;
          PERFORM set_config('enable_mergejoin', merging, true);
          RETURN NULL;
        END
        """;

    /// <summary>
    /// Installs the capture function and the triggers on each table; run by a role that owns them
    /// (idempotent, and replaces the row trigger of earlier versions). The function runs with its
    /// own search path and float precision, whatever the session's: a float written into the
    /// journal with fewer digits would be put back changed.
    /// </summary>
    public static string InstallSql(IEnumerable<string> quotedTables)
    {
        var sql = new System.Text.StringBuilder();
        sql.AppendLine($"CREATE SCHEMA IF NOT EXISTS {Schema};");
        sql.AppendLine($"CREATE OR REPLACE FUNCTION {Schema}.capture() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1 AS $capture$");
        sql.AppendLine($"-- {Version}");
        sql.AppendLine(FunctionBody);
        sql.AppendLine("$capture$;");
        sql.AppendLine($"GRANT USAGE ON SCHEMA {Schema} TO PUBLIC;");
        foreach (var table in quotedTables)
        {
            sql.AppendLine($"DROP TRIGGER IF EXISTS {Trigger} ON {table};");
            sql.AppendLine($"CREATE OR REPLACE TRIGGER {Trigger}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS warden_new FOR EACH STATEMENT EXECUTE FUNCTION {Schema}.capture();");
            sql.AppendLine($"CREATE OR REPLACE TRIGGER {Trigger}_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS warden_old NEW TABLE AS warden_new FOR EACH STATEMENT EXECUTE FUNCTION {Schema}.capture();");
            sql.AppendLine($"CREATE OR REPLACE TRIGGER {Trigger}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS warden_old FOR EACH STATEMENT EXECUTE FUNCTION {Schema}.capture();");
        }

        return sql.ToString();
    }

    /// <summary>Installs the capture on the governed tables, connected as their owner.</summary>
    public static async Task InstallAsync(string ownerConnectionString, IReadOnlyList<GovernedTable> tables, CancellationToken cancellationToken = default)
    {
        await using var source = NpgsqlDataSource.Create(ownerConnectionString);
        await using var connection = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var catalogue = await TableCatalogue.ReadAsync(connection, tables, cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(InstallSql(catalogue.Tables.Select(t => t.Quoted)), connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The governed tables that lack an enabled capture trigger.</summary>
    public static async Task<IReadOnlyList<string>> MissingAsync(NpgsqlConnection connection, TableCatalogue catalogue, CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        foreach (var table in catalogue.Tables)
        {
            await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_trigger WHERE tgrelid = $1 AND tgname = ANY($2) AND tgenabled IN ('O', 'A')", connection);
            command.Parameters.Add(new() { Value = table.Oid, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Oid });
            command.Parameters.Add(new() { Value = Operations.Select(o => $"{Trigger}_{o}").ToArray() });
            if ((long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! < Operations.Length)
            {
                missing.Add(table.Declared);
            }
        }

        return missing;
    }

    /// <summary>Whether the capture function installed is this version's (one from an earlier Warden writes rows this one does not read).</summary>
    public static async Task<bool> CurrentAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT coalesce(bool_or(p.prosrc LIKE $1), false) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '{Schema}' AND p.proname = 'capture'", connection);
        command.Parameters.Add(new() { Value = $"%-- {Version}%" });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>What the trigger does in a transaction: sum the rows up for a plan, sum them up and copy them to apply, or only copy them (a rollback).</summary>
    public enum Mode
    {
        Plan,
        Apply,
        Rows,
    }

    /// <summary>
    /// Starts capturing in this session's transaction (the tables live as long as the session;
    /// their rows as long as the transaction): the mode, whether the statement draws from a
    /// sequence, and how many rows the sample keeps. The capture's and the summaries' queries
    /// work on whole statements' rows: sorts and joins in memory rather than on disk, and no JIT
    /// compilation, which the planner's guesses for transition tables set off at a cost of half a second.
    /// The copied rows are numbered from a sequence that hands out a thousand numbers at a time
    /// (one at a time, it cost a fifth of inserting the rows).
    /// </summary>
    public static string BeginSql(Mode mode, bool drawn = false, int sample = 0) => $"""
        CREATE TEMP TABLE IF NOT EXISTS warden_capturing (mode text NOT NULL, drawn boolean NOT NULL, sample integer NOT NULL) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS warden_rows (
          seq bigint GENERATED ALWAYS AS IDENTITY (CACHE 1000), tbl text NOT NULL, op text NOT NULL, before text, after text, before_record bytea, after_record bytea,
          moved boolean NOT NULL DEFAULT false, firing bigint
        ) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS warden_summary (
          seq bigint GENERATED ALWAYS AS IDENTITY, tbl text NOT NULL, kind text NOT NULL, op text, col text, n bigint, moved bigint, digest bytea, keys bytea,
          value text, before text, after text, key text
        ) ON COMMIT DELETE ROWS;
        TRUNCATE pg_temp.warden_capturing, pg_temp.warden_rows, pg_temp.warden_summary;
        INSERT INTO pg_temp.warden_capturing VALUES ('{mode.ToString().ToLowerInvariant()}', {(drawn ? "true" : "false")}, {sample});
        SET LOCAL jit = off;
        SET LOCAL work_mem = '64MB';
        """;

    /// <summary>
    /// The query reading the rows of the governed tables ($1) copied since <see cref="BeginSql"/>,
    /// with their order. Not sorted by the server: the table is written in order and only
    /// appended to, so a scan reads it in order, and sorting its images cost a fifth of reading
    /// them; <see cref="ImagesAsync"/> checks the order, and asks again sorted only if it is not.
    /// </summary>
    public const string ReadSql = "SELECT seq, tbl, op, before, after, before_record, after_record, firing, moved FROM pg_temp.warden_rows WHERE tbl = ANY($1)";

    /// <summary>The names of the columns of each governed table ($1) whose rows the capture copied in binary form.</summary>
    public const string ColumnsOfRecordsSql = "SELECT DISTINCT tbl, value FROM pg_temp.warden_summary WHERE kind = 'shape' AND tbl = ANY($1)";

    /// <summary>The digests the trigger's firings made on the governed tables ($1) since <see cref="BeginSql"/>, per kind of change.</summary>
    public const string GroupsSql = "SELECT tbl, op, n, moved, digest, keys FROM pg_temp.warden_summary WHERE kind = 'group' AND tbl = ANY($1)";

    /// <summary>The firings on the governed tables ($1) whose rows Warden digests itself (<see cref="FiringDigest"/>), with what the trigger wrote down of their tables.</summary>
    public const string FiringsSql = "SELECT tbl, op, n, value FROM pg_temp.warden_summary WHERE kind = 'firing' AND tbl = ANY($1)";

    /// <summary>The transaction's time as the trigger compared times with: <c>now()</c> and <c>localtimestamp</c> in binary form.</summary>
    public const string NowSql = "SELECT timestamptz_send(now()), timestamp_send(localtimestamp)";

    /// <summary>What was captured on the governed tables, per table and kind of change, when every firing made its own digests (a plan).</summary>
    public static List<CapturedGroup> Groups(NpgsqlConnection connection, string[] governed)
    {
        using var command = new NpgsqlCommand(GroupsSql, connection);
        command.Parameters.Add(new() { Value = governed });
        using var reader = command.ExecuteReader();
        var digested = new List<FiringGroup>();
        while (reader.Read())
        {
            digested.Add(Digested(reader));
        }

        return FiringDigest.Combine(digested);
    }

    private static FiringGroup Digested(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetFieldValue<byte[]>(4), reader.GetFieldValue<byte[]>(5));

    /// <summary>
    /// What the firings captured on the governed tables: the digests those that made their own
    /// made, and the firings whose copied rows Warden digests (at apply).
    /// </summary>
    public static async Task<(List<FiringGroup> Digested, List<Firing> Firings)> CapturedAsync(NpgsqlConnection connection, string[] governed, CancellationToken cancellationToken)
    {
        var digested = new List<FiringGroup>();
        await using (var command = new NpgsqlCommand(GroupsSql, connection))
        {
            command.Parameters.Add(new() { Value = governed });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                digested.Add(Digested(reader));
            }
        }

        var firings = new List<Firing>();
        await using (var command = new NpgsqlCommand(FiringsSql, connection))
        {
            command.Parameters.Add(new() { Value = governed });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                firings.Add(Firing.Parse(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
            }
        }

        return (digested, firings);
    }

    /// <summary>What was captured, per table and kind of change: the firings' own digests and Warden's of the firings whose rows it read (<paramref name="copied"/>, by firing).</summary>
    public static async Task<List<CapturedGroup>> GroupsAsync(NpgsqlConnection connection, List<FiringGroup> digested, List<Firing> firings,
        IReadOnlyDictionary<long, List<CopiedRow>> copied, CancellationToken cancellationToken)
    {
        if (firings.Count == 0)
        {
            return FiringDigest.Combine(digested);
        }

        byte[] now, localNow;
        await using (var command = new NpgsqlCommand(NowSql, connection))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            (now, localNow) = (reader.GetFieldValue<byte[]>(0), reader.GetFieldValue<byte[]>(1));
        }

        return FiringDigest.Combine([.. digested, .. firings.SelectMany(f => FiringDigest.Groups(f, copied.GetValueOrDefault(f.Number) ?? [], now, localNow))]);
    }

    /// <summary>
    /// The query reading a plan's preview of the governed tables ($1), as the trigger's firings
    /// summed it up: per table and column changed, <c>column</c> rows (the rows changing it, and
    /// the one value after, if every changed row gets it), and <c>value</c> rows (a commonest value
    /// before, with its count).
    /// </summary>
    public const string ColumnsSql = "SELECT tbl, kind, col, n, value FROM pg_temp.warden_summary WHERE kind IN ('column', 'value') AND tbl = ANY($1) ORDER BY seq";

    /// <summary>The first $1 rows of the sample on the governed tables ($2), in order, with their keys.</summary>
    public const string SampleSql = "SELECT tbl, op, before, after, key FROM pg_temp.warden_summary WHERE kind = 'sample' AND tbl = ANY($2) ORDER BY seq LIMIT $1";

    /// <summary>
    /// The rows of the governed tables copied since <see cref="BeginSql"/>, in the order they were
    /// captured, written into the journal's document as they are read (their images as the bytes
    /// PostgreSQL sends); null when the images pass <paramref name="maxBytes"/>, whose reading
    /// stops there.
    /// </summary>
    public static async Task<JournalImages?> ImagesAsync(NpgsqlConnection connection, string[] governed, long maxBytes, CancellationToken cancellationToken,
        Dictionary<long, List<CopiedRow>>? copied = null)
    {
        // The bytes are UTF-8 only when the connection asked for it (Npgsql does unless told otherwise): else each image is decoded, and written as UTF-8.
        var utf8 = connection.PostgresParameters.TryGetValue("client_encoding", out var encoding) && string.Equals(encoding, "UTF8", StringComparison.OrdinalIgnoreCase);
        var columns = new Dictionary<string, string[]>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand(ColumnsOfRecordsSql, connection))
        {
            command.Parameters.Add(new() { Value = governed });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // One statement's rows of a table have its columns of that moment; two sets of names would leave one set's images unreadable.
                if (!columns.TryAdd(reader.GetString(0), System.Text.Json.JsonSerializer.Deserialize<string[]>(reader.GetString(1))!))
                {
                    throw new InvalidOperationException($"the columns of {reader.GetString(0)} changed while its rows were captured");
                }
            }
        }

        foreach (var sql in new[] { ReadSql, ReadSql + " ORDER BY seq" })
        {
            var images = new JournalImages();
            copied?.Clear();
            try
            {
                foreach (var (table, names) in columns)
                {
                    images.Columns(table, names);
                }

                var ordered = true;
                await using (var command = new NpgsqlCommand(sql, connection))
                {
                    command.Parameters.Add(new() { Value = governed });
                    // Not sequential access: a row is a few hundred bytes, read whole by ReadAsync, so its columns are read from memory, not each awaited.
                    await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    long last = 0;
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        var seq = reader.GetInt64(0);
                        if (seq <= last)
                        {
                            ordered = false;
                            break;
                        }

                        last = seq;
                        var operation = reader.GetString(2);
                        images.Start(reader.GetString(1), operation);
                        var before = Image(images, reader, 3, 5, utf8);
                        var after = Image(images, reader, 4, 6, utf8);
                        if (copied is not null && !reader.IsDBNull(7))
                        {
                            var firing = reader.GetInt64(7);
                            if (!copied.TryGetValue(firing, out var rows))
                            {
                                copied[firing] = rows = [];
                            }

                            rows.Add(new CopiedRow(operation, reader.GetBoolean(8), before, after));
                        }
                        if (images.Bytes > maxBytes)
                        {
                            images.Dispose();
                            return null;
                        }
                    }
                }

                if (ordered)
                {
                    return images;
                }

                images.Dispose();
            }
            catch
            {
                images.Dispose();
                throw;
            }
        }

        throw new InvalidOperationException("the captured rows came back out of order even when sorted");
    }

    /// <summary>An image: its binary form (<paramref name="record"/>) if the capture wrote one, else its JSON (<paramref name="json"/>), else none.</summary>
    private static byte[]? Image(JournalImages images, NpgsqlDataReader reader, int json, int record, bool utf8)
    {
        if (!reader.IsDBNull(record))
        {
            var bytes = reader.GetFieldValue<byte[]>(record);
            images.Record(bytes);
            return bytes;
        }

        if (reader.IsDBNull(json))
        {
            images.Json(null);
        }
        else if (utf8)
        {
            using var stream = reader.GetStream(json);
            using var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            images.Json(bytes.ToArray());
        }
        else
        {
            images.Json(System.Text.Encoding.UTF8.GetBytes(reader.GetString(json)));
        }

        return null;
    }
}

/// <summary>
/// What a statement changed in one table in one way (inserted, updated or deleted): how many rows,
/// a digest of the rows, and of their keys; Moved of them are an update's rows whose key changed
/// (PostgreSQL counts each such update once, the capture shows it as a delete and an insert).
/// </summary>
internal sealed record CapturedGroup(string Table, string Operation, long Rows, string Digest, string KeysDigest, long Moved);
