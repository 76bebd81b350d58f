import PostgresClient

/// A privilege the connected user lacks, with the statement that grants it.
struct MissingPrivilege: Sendable, Hashable {
    var what: String
    var grant: String
}

/// Reads, from the server's catalogs, which privileges each role of the plugin lacks.
struct PrivilegeAudit {
    let connection: PostgresConnection
    let config: PluginConfig

    /// Source: CONNECT on the database, USAGE on each schema read, SELECT on each table in them.
    func missingForSource() async throws -> [MissingPrivilege] {
        var missing: [MissingPrivilege] = []
        let user = try await currentUser()
        let database = try await connection.execute("SELECT current_database()").rows[0][0] ?? ""
        if try await flag("SELECT has_database_privilege(current_database(), 'CONNECT')") == false {
            missing.append(.init(what: "CONNECT on database \(database)",
                                 grant: "GRANT CONNECT ON DATABASE \(SQL.quoteIdentifier(database)) TO \(SQL.quoteIdentifier(user));"))
        }
        let schemas = try await sourceSchemas()
        // By oid, in one statement: a schema dropped meanwhile is simply not listed (by name,
        // has_schema_privilege fails on it).
        let withoutUsage = try await connection.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[]) AND NOT has_schema_privilege(oid, 'USAGE') ORDER BY 1",
            [.text(Self.textArray(schemas))])
        for schema in withoutUsage.rows.compactMap({ $0.first ?? nil }) {
            missing.append(.init(what: "USAGE on schema \(schema)",
                                 grant: "GRANT USAGE ON SCHEMA \(SQL.quoteIdentifier(schema)) TO \(SQL.quoteIdentifier(user));"))
        }
        let unreadable = try await connection.execute("""
            SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r','v','m','p','f')
              AND NOT has_table_privilege(c.oid, 'SELECT')
            ORDER BY 1, 2
            """, [.text(Self.textArray(schemas))])
        for row in unreadable.rows {
            let table = SQL.quoteQualified(schema: row[0] ?? "", name: row[1] ?? "")
            missing.append(.init(what: "SELECT on \(row[0] ?? "").\(row[1] ?? "")",
                                 grant: "GRANT SELECT ON \(table) TO \(SQL.quoteIdentifier(user));"))
        }
        return missing
    }

    /// Destination: CREATE on the schema (or on the database when the schema is missing),
    /// TEMPORARY on the database, and INSERT, UPDATE, DELETE on the schema's existing tables.
    func missingForDestination() async throws -> [MissingPrivilege] {
        var missing: [MissingPrivilege] = []
        let user = try await currentUser()
        let schema = config.connection.schema
        let database = try await connection.execute("SELECT current_database()").rows[0][0] ?? ""
        let schemaExists = try await flag("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", [.text(schema)])
        if schemaExists {
            if try await flag("SELECT has_schema_privilege($1, 'CREATE')", [.text(schema)]) == false {
                missing.append(.init(what: "CREATE on schema \(schema)",
                                     grant: "GRANT CREATE ON SCHEMA \(SQL.quoteIdentifier(schema)) TO \(SQL.quoteIdentifier(user));"))
            }
            if try await flag("SELECT has_schema_privilege($1, 'USAGE')", [.text(schema)]) == false {
                missing.append(.init(what: "USAGE on schema \(schema)",
                                     grant: "GRANT USAGE ON SCHEMA \(SQL.quoteIdentifier(schema)) TO \(SQL.quoteIdentifier(user));"))
            }
        } else if try await flag("SELECT has_database_privilege(current_database(), 'CREATE')") == false {
            missing.append(.init(what: "CREATE on database \(database) (schema \(schema) does not exist yet)",
                                 grant: "GRANT CREATE ON DATABASE \(SQL.quoteIdentifier(database)) TO \(SQL.quoteIdentifier(user));"))
        }
        if try await flag("SELECT has_database_privilege(current_database(), 'TEMPORARY')") == false {
            missing.append(.init(what: "TEMPORARY on database \(database)",
                                 grant: "GRANT TEMPORARY ON DATABASE \(SQL.quoteIdentifier(database)) TO \(SQL.quoteIdentifier(user));"))
        }
        if schemaExists {
            let tables = try await connection.execute("""
                SELECT c.relname,
                       has_table_privilege(c.oid, 'INSERT'), has_table_privilege(c.oid, 'UPDATE'), has_table_privilege(c.oid, 'DELETE')
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND c.relkind IN ('r','p') ORDER BY 1
                """, [.text(schema)])
            for row in tables.rows {
                let lacking = zip(["INSERT", "UPDATE", "DELETE"], row[1...3]).filter { $0.1 != "t" }.map(\.0)
                guard !lacking.isEmpty, let name = row[0] else { continue }
                missing.append(.init(what: "\(lacking.joined(separator: ", ")) on \(schema).\(name)",
                                     grant: "GRANT \(lacking.joined(separator: ", ")) ON \(SQL.quoteQualified(schema: schema, name: name)) TO \(SQL.quoteIdentifier(user));"))
            }
        }
        return missing
    }

    private func sourceSchemas() async throws -> [String] {
        if !config.source.schemas.isEmpty { return config.source.schemas }
        let result = try await connection.execute("""
            SELECT nspname FROM pg_namespace
            WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND nspname NOT LIKE 'pg_temp_%'
              AND nspname NOT LIKE 'pg_toast_temp_%' ORDER BY 1
            """)
        return result.rows.compactMap { $0[0] }
    }

    private func currentUser() async throws -> String {
        try await connection.execute("SELECT current_user").rows[0][0] ?? ""
    }

    private func flag(_ sql: String, _ parameters: [PostgresValue] = []) async throws -> Bool {
        try await connection.execute(sql, parameters).rows.first?.first??.hasPrefix("t") ?? false
    }

    /// A PostgreSQL text[] literal, passed as a bound parameter.
    static func textArray(_ values: [String]) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
    }
}
