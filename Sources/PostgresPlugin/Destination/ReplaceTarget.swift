import PostgresClient
import SluiceWire

/// Objects outside a table that depend on it, found before a `replace` loads anything.
struct TableDependents: Sendable {
    /// Foreign keys of other tables that reference it (`table (constraint)`).
    var foreignKeys: [String] = []
    /// Everything else: views and materialized views (`view schema.name`), functions with SQL
    /// bodies, policies of other tables…, as PostgreSQL describes them.
    var others: [String] = []

    var isEmpty: Bool { foreignKeys.isEmpty && others.isEmpty }
    var all: [String] { others + foreignKeys.map { "foreign key \($0)" } }
}

extension TableManager {
    /// The objects that depend on `qualified` (`pg_depend`, normal dependencies) other than its
    /// own parts, which DROP TABLE would refuse to drop (empty when the table does not exist).
    func dependents(of qualified: String) async throws -> TableDependents {
        let rows = try await connection.execute(
            "SELECT CASE WHEN d.classid = 'pg_rewrite'::regclass THEN 'view ' || r.ev_class::regclass::text "
                + "WHEN d.classid = 'pg_constraint'::regclass AND c.contype = 'f' THEN c.conrelid::regclass::text || ' (' || c.conname || ')' "
                + "ELSE pg_describe_object(d.classid, d.objid, d.objsubid) END, d.classid = 'pg_constraint'::regclass AND c.contype = 'f' "
                + "FROM pg_depend d LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid "
                + "LEFT JOIN pg_constraint c ON d.classid = 'pg_constraint'::regclass AND c.oid = d.objid "
                + "WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass($1) AND d.deptype = 'n' "
                + "AND r.ev_class IS DISTINCT FROM d.refobjid AND c.conrelid IS DISTINCT FROM d.refobjid GROUP BY 1, 2 ORDER BY 1",
            [.text(qualified)]).rows
        var dependents = TableDependents()
        for row in rows {
            guard let name = row.first ?? nil else { continue }
            if row.count > 1, row[1] == "t" { dependents.foreignKeys.append(name) } else { dependents.others.append(name) }
        }
        return dependents
    }

    /// For `replace` into a live table that other objects depend on (views, materialized views,
    /// functions with SQL bodies…): the live table is kept (so they keep working) and its rows are replaced in the sync's final
    /// transaction (``WritePlan/replaceInPlace``). Returns nil when nothing depends on it (the
    /// tables are swapped); else appends to `statements` the migration that lets the live table
    /// take the stream's rows and returns the statements the final transaction runs once the
    /// table is emptied (a primary key change). Throws `REPLACE_DEPENDENTS` listing the
    /// dependents when foreign keys reference the table, or when its columns cannot take the
    /// stream's safely, unless `migrate_cascade` lets the swap drop them.
    func replaceInPlace(stream: StreamID, live: String, migrate: ([ExistingColumn]) -> Migration, primaryKey: [String],
                        rowID: Bool, raw: Bool, statements: inout [String]) async throws -> [String]? {
        let qualified = SQL.quoteQualified(schema: schemaName, name: live)
        guard let existing = try await existingColumns(qualified) else { return nil }
        let dependents = try await dependents(of: qualified)
        guard !dependents.isEmpty else { return nil }
        let migration = migrate(existing)
        var reasons: [String] = []
        if !dependents.foreignKeys.isEmpty {
            reasons.append("emptying it would break the foreign keys that reference it: \(dependents.foreignKeys.joined(separator: ", "))")
        }
        reasons += migration.refusals
        guard reasons.isEmpty else {
            if settings.migrateCascade { return nil }
            let listed = dependents.all.joined(separator: ", ")
            throw PluginError(category: .config, code: "REPLACE_DEPENDENTS",
                              message: "stream \(stream): replace cannot keep what depends on table \(schemaName).\(live) (\(listed)):\n"
                                  + reasons.map { "  - \($0)" }.joined(separator: "\n")
                                  + "\nuse mirror (upsert, then delete the rows the sync did not write), or set migrate_cascade to drop the dependents",
                              stream: stream)
        }
        if !migration.clauses.isEmpty { statements.append("ALTER TABLE \(qualified) " + migration.clauses.joined(separator: ", ")) }
        if rowID, !raw, !existing.contains(where: { $0.name == WritePlan.rowIDColumn }) {
            statements.append("ALTER TABLE \(qualified) ADD COLUMN \(SQL.quoteIdentifier(WritePlan.rowIDColumn)) uuid NOT NULL DEFAULT gen_random_uuid()")
        }
        let current = raw ? nil : try await existingPrimaryKey(qualified)
        guard !raw, !primaryKey.isEmpty, current?.columns != primaryKey else { return [] }
        return (current.map { ["ALTER TABLE \(qualified) DROP CONSTRAINT \(SQL.quoteIdentifier($0.name))"] } ?? [])
            + ["ALTER TABLE \(qualified) ADD PRIMARY KEY (\(primaryKey.map(SQL.quoteIdentifier).joined(separator: ", ")))"]
    }

    /// Replaces the rows of `plan`'s live table with its replacement table's, in the open
    /// transaction: empties the live table, runs `afterEmptying`, copies the replacement's
    /// columns the live table has, and drops the replacement.
    func replaceRows(_ plan: WritePlan, afterEmptying: [String]) async throws {
        let live = SQL.quoteQualified(schema: plan.schemaName, name: plan.table)
        _ = try await connection.execute("TRUNCATE \(live)")
        for statement in afterEmptying { _ = try await connection.execute(statement) }
        let shared = try await connection.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
                + "AND EXISTS (SELECT 1 FROM pg_attribute b WHERE b.attrelid = to_regclass($2) AND b.attname = a.attname AND NOT b.attisdropped) "
                + "ORDER BY a.attnum",
            [.text(plan.target), .text(live)]).rows.compactMap { $0.first ?? nil }.map(SQL.quoteIdentifier).joined(separator: ", ")
        _ = try await connection.execute("INSERT INTO \(live) (\(shared)) SELECT \(shared) FROM \(plan.target)")
        _ = try await connection.execute("DROP TABLE \(plan.target)")
    }
}
