import PostgresClient
import SluiceWire

/// Objects of other relations that depend on a table, found before a `replace` loads anything.
struct TableDependents: Sendable {
    /// Views and materialized views that select from the table (schema-qualified names).
    var views: [String] = []
    /// Foreign keys of other tables that reference it (`table (constraint)`).
    var foreignKeys: [String] = []

    var isEmpty: Bool { views.isEmpty && foreignKeys.isEmpty }
}

extension TableManager {
    /// The views, materialized views and foreign keys depending on `qualified` (empty when the
    /// table does not exist).
    func dependents(of qualified: String) async throws -> TableDependents {
        let views = try await connection.execute(
            "SELECT DISTINCT v.oid::regclass::text FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
                + "WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass($1) "
                + "AND v.oid <> d.refobjid ORDER BY 1",
            [.text(qualified)]).rows
        let keys = try await connection.execute(
            "SELECT conrelid::regclass::text || ' (' || conname || ')' FROM pg_constraint "
                + "WHERE contype = 'f' AND confrelid = to_regclass($1) AND conrelid <> confrelid ORDER BY 1",
            [.text(qualified)]).rows
        return TableDependents(views: views.compactMap { $0.first ?? nil }, foreignKeys: keys.compactMap { $0.first ?? nil })
    }

    /// For `replace` into a live table that views or materialized views depend on: the live
    /// table is kept (so they keep working) and its rows are replaced in the sync's final
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
            let listed = (dependents.views.map { "view \($0)" } + dependents.foreignKeys.map { "foreign key \($0)" }).joined(separator: ", ")
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
