import PostgresClient
import SluiceWire

/// How an existing table's primary key becomes the stream's, decided before any data moves.
struct KeyMigration: Sendable {
    /// Run before the table's column migration (dropping the old primary key).
    var before: [String] = []
    /// Run after it (adding the new primary key, once its columns exist).
    var after: [String] = []
    /// Why the key cannot be changed without losing or breaking rows; nil when it can.
    var refusal: String?
}

extension TableManager {
    /// The existing primary key of `qualified` (constraint name and columns, in order), or nil
    /// when the table has none.
    func existingPrimaryKey(_ qualified: String) async throws -> (name: String, columns: [String])? {
        let rows = try await connection.execute(
            "SELECT c.conname, a.attname FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, position) "
                + "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
                + "WHERE c.conrelid = to_regclass($1) AND c.contype = 'p' ORDER BY k.position",
            [.text(qualified)]).rows
        guard let name = rows.first?[0] ?? nil else { return nil }
        return (name, rows.map { $0[1] ?? "" })
    }

    /// Changes the primary key of `qualified` from `existing` to `wanted` when the rows allow
    /// it: every new key column already exists (or the table is empty) and the existing rows
    /// are unique and not null under the new key. A stream that lost its primary key keeps the
    /// table's, and append leaves a table without one as it is. Returns nil when nothing changes.
    func keyMigration(_ qualified: String, existing: [ExistingColumn], wanted: [String], mode: WriteMode) async throws -> KeyMigration? {
        guard !wanted.isEmpty else { return nil }
        let current = try await existingPrimaryKey(qualified)
        guard current?.columns != wanted, current != nil || mode != .append else { return nil }
        let change = "primary key (\(current?.columns.joined(separator: ", ") ?? "none")) → (\(wanted.joined(separator: ", ")))"
        var migration = KeyMigration()
        if let current { migration.before = ["ALTER TABLE \(qualified) DROP CONSTRAINT \(SQL.quoteIdentifier(current.name))"] }
        migration.after = ["ALTER TABLE \(qualified) ADD PRIMARY KEY (\(wanted.map(SQL.quoteIdentifier).joined(separator: ", ")))"]
        let names = Set(existing.map(\.name))
        let present = wanted.filter(names.contains)
        let quoted = present.map(SQL.quoteIdentifier)
        let nulls = quoted.isEmpty ? "0" : "count(*) FILTER (WHERE " + quoted.map { "\($0) IS NULL" }.joined(separator: " OR ") + ")"
        let duplicates = quoted.isEmpty ? "count(*) > 1"
            : "EXISTS (SELECT 1 FROM \(qualified) GROUP BY \(quoted.joined(separator: ", ")) HAVING count(*) > 1)"
        let row = try await connection.execute("SELECT count(*), \(nulls), \(duplicates) FROM \(qualified)").rows.first ?? []
        let rows = Int(row.first.flatMap { $0 } ?? "") ?? 0
        guard rows > 0 else { return migration }
        if present.count < wanted.count {
            let missing = wanted.filter { !names.contains($0) }.map { "\"\($0)\"" }.joined(separator: ", ")
            migration.refusal = "\(change): the table's \(rows) rows have no value for the new key column \(missing)"
        } else if row.count > 1, row[1] != "0" {
            migration.refusal = "\(change): \(row[1] ?? "some") existing rows have a null in the new key"
        } else if row.count > 2, row[2] == "t" {
            migration.refusal = "\(change): existing rows are not unique under the new key"
        }
        return migration
    }

    /// Makes `table`'s unique index for `key_columns` (`<table>_sluice_key`) cover exactly `key`:
    /// created when missing, dropped and created again when it covers other columns.
    func keyIndexStatements(schema: String, table: String, key: [String]) async throws -> [String] {
        let name = Identifiers.shortened(table + "_sluice_key")
        let index = SQL.quoteQualified(schema: schema, name: name)
        let columns = try await connection.execute(
            "SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) "
                + "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indexrelid = to_regclass($1) ORDER BY k.position",
            [.text(index)]).rows.map { $0.first.flatMap { $0 } ?? "" }
        let create = "CREATE UNIQUE INDEX IF NOT EXISTS \(SQL.quoteIdentifier(name)) ON \(SQL.quoteQualified(schema: schema, name: table)) (\(key.map(SQL.quoteIdentifier).joined(separator: ", ")))"
        guard !columns.isEmpty, columns != key else { return [create] }
        return ["DROP INDEX IF EXISTS \(index)", create]
    }
}
