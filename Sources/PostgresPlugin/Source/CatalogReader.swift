import PostgresClient
import SluiceWire

/// Reads the relations a source offers out of the server's catalogs.
struct CatalogReader {
    let connection: PostgresConnection
    let settings: SourceSettings

    /// The partitioned table `c` and every partition under it, from `pg_inherits`: sizes and row counts
    /// come from `pg_class` statistics, never from functions such as `pg_total_relation_size` or
    /// `pg_partition_tree` that lock each relation (a Discover would then wait behind any DDL).
    private static let leaves = """
        ARRAY(WITH RECURSIVE tree(relid) AS (SELECT c.oid UNION ALL
                SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.relid)
              SELECT relid FROM tree)
        """

    /// Every selected relation (not partitions, not the destination's `_sluice_state` bookkeeping
    /// table nor its staging slots, ``Stager``) with its columns and keys, ordered by schema and name.
    func tables() async throws -> [SourceTable] {
        let mapper = try await typeMapper()
        let schemas = try await schemaNames()
        let user = try await connection.execute("SELECT current_user").rows.first?[0] ?? ""
        let relations = try await connection.execute("""
            SELECT c.oid, n.nspname, c.relname, c.relkind, c.reltuples::bigint,
                   has_table_privilege(c.oid, 'SELECT'), has_schema_privilege(n.oid, 'USAGE'),
                   CASE WHEN c.relkind IN ('r', 'm') THEN
                     (c.relpages::bigint + coalesce((SELECT t.relpages FROM pg_class t WHERE t.oid = c.reltoastrelid), 0))
                       * current_setting('block_size')::bigint
                   WHEN c.relkind = 'p' THEN
                     (SELECT coalesce(sum(p.relpages::bigint + coalesce(t.relpages, 0)), 0) * current_setting('block_size')::bigint
                      FROM pg_class p LEFT JOIN pg_class t ON t.oid = p.reltoastrelid
                      WHERE p.oid = ANY (\(Self.leaves)) AND p.relkind = 'r')
                     ELSE -1 END,
                   CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(greatest(p.reltuples, 0)), -1)::bigint
                                                   FROM pg_class p WHERE p.oid = ANY (\(Self.leaves)) AND p.relkind = 'r') END
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition AND n.nspname = ANY($1::text[])
              AND NOT (c.relkind = 'r' AND c.relname = $2)
              AND NOT (c.relkind = 'r' AND c.relpersistence = 'u' AND c.relname LIKE $3)
            ORDER BY n.nspname, c.relname
            """, [.text(PrivilegeAudit.textArray(schemas)), .text(CommittedStateStore.tableName), .text(Stager.slotPattern)])
        var tables: [SourceTable] = []
        for row in relations.rows {
            guard let oid = UInt32(row[0] ?? ""), let schema = row[1], let name = row[2],
                  settings.tables.matches(schema: schema, name: name) else { continue }
            let select = row[5] == "t", usage = row[6] == "t"
            var remedy: [String] = []
            if !usage { remedy.append("GRANT USAGE ON SCHEMA \(SQL.quoteIdentifier(schema)) TO \(SQL.quoteIdentifier(user));") }
            if !select { remedy.append("GRANT SELECT ON \(SQL.quoteQualified(schema: schema, name: name)) TO \(SQL.quoteIdentifier(user));") }
            let rows = Int64(row[8] ?? "") ?? Int64(row[4] ?? "") ?? -1
            tables.append(SourceTable(
                oid: oid, schema: schema, name: name, relkind: row[3] ?? "r", readable: select && usage,
                remedy: remedy.joined(separator: " "), columns: [], primaryKey: [], uniqueKeys: [], cursorCandidates: [],
                estimatedRows: rows < 0 ? -1 : rows, estimatedBytes: Int64(row[7] ?? "") ?? -1))
        }
        guard !tables.isEmpty else { return [] }
        let oids = "{" + tables.map { String($0.oid) }.joined(separator: ",") + "}"
        let columns = try await columnsByTable(oids: oids, mapper: mapper)
        let keys = try await keysByTable(oids: oids)
        for index in tables.indices {
            let oid = tables[index].oid
            tables[index].columns = columns[oid] ?? []
            let tableKeys = keys[oid] ?? []
            tables[index].primaryKey = tableKeys.first { $0.primary }?.columns ?? []
            tables[index].uniqueKeys = tableKeys.filter { !$0.primary }.map { UniqueKey(name: $0.name, columns: $0.columns) }
            tables[index].cursorCandidates = tables[index].columns.filter { mapper.isCursorCandidate($0.plan) }.map(\.name)
        }
        return tables
    }

    /// The configured schemas, or every non-system schema.
    private func schemaNames() async throws -> [String] {
        if !settings.schemas.isEmpty { return settings.schemas }
        let result = try await connection.execute("""
            SELECT nspname FROM pg_namespace
            WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
              AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
            ORDER BY 1
            """)
        return result.rows.compactMap { $0[0] }
    }

    private func typeMapper() async throws -> TypeMapper {
        let result = try await connection.execute("""
            SELECT t.oid, t.typname, t.typtype, t.typbasetype, t.typelem, t.typcategory, t.typtypmod, n.nspname, t.typnotnull,
                   t.typrelid, CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            """)
        var types: [UInt32: PgType] = [:]
        for row in result.rows {
            guard let oid = UInt32(row[0] ?? "") else { continue }
            types[oid] = PgType(oid: oid, name: row[1] ?? "", typtype: row[2] ?? "b", baseType: UInt32(row[3] ?? "") ?? 0,
                                element: UInt32(row[4] ?? "") ?? 0, category: row[5] ?? "", typmod: Int32(row[6] ?? "") ?? -1,
                                namespace: row[7] ?? "", notNull: row[8] == "t", relid: UInt32(row[9] ?? "") ?? 0, baseFormat: row[10] ?? "")
        }
        return TypeMapper(types: types)
    }

    private func columnsByTable(oids: String, mapper: TypeMapper) async throws -> [UInt32: [SourceColumn]] {
        let result = try await connection.execute("""
            SELECT a.attrelid, a.attname, a.attnotnull, format_type(a.atttypid, a.atttypmod), a.atttypid, a.atttypmod,
                   a.attgenerated <> ''
            FROM pg_attribute a
            WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attrelid, a.attnum
            """, [.text(oids)])
        var columns: [UInt32: [SourceColumn]] = [:]
        var typeOIDs: [UInt32: [(table: UInt32, index: Int)]] = [:]
        for row in result.rows {
            guard let oid = UInt32(row[0] ?? ""), let name = row[1], let typeOID = UInt32(row[4] ?? "") else { continue }
            let modifier = Int32(row[5] ?? "") ?? -1
            let plan = mapper.plan(oid: typeOID, typmod: modifier)
            typeOIDs[typeOID, default: []].append((oid, columns[oid, default: []].count))
            columns[oid, default: []].append(SourceColumn(
                name: name, notNull: row[2] == "t", sourceType: row[3] ?? "", plan: plan, isGenerated: row[6] == "t",
                typeOID: typeOID, typeModifier: modifier))
        }
        let userTypes = try await UserTypeReader(connection: connection, types: mapper.types).definitions(of: Array(typeOIDs.keys))
        for (typeOID, definition) in userTypes {
            for (table, index) in typeOIDs[typeOID] ?? [] {
                columns[table]?[index].userType = definition.reference
                columns[table]?[index].userTypes = definition.types
            }
        }
        return columns
    }

    private struct Key {
        var name: String
        var primary: Bool
        var columns: [String]
    }

    private func keysByTable(oids: String) async throws -> [UInt32: [Key]] {
        let result = try await connection.execute("""
            SELECT i.indrelid, ic.relname, i.indisprimary, a.attname
            FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = ANY($1::oid[]) AND i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
              AND k.ord <= i.indnkeyatts
            ORDER BY i.indrelid, i.indisprimary DESC, ic.relname, k.ord
            """, [.text(oids)])
        var keys: [UInt32: [Key]] = [:]
        for row in result.rows {
            guard let oid = UInt32(row[0] ?? ""), let name = row[1], let column = row[3] else { continue }
            var list = keys[oid, default: []]
            if let last = list.indices.last, list[last].name == name {
                list[last].columns.append(column)
            } else {
                list.append(Key(name: name, primary: row[2] == "t", columns: [column]))
            }
            keys[oid] = list
        }
        return keys
    }
}
