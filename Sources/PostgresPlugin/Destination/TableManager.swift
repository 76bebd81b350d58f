import PostgresClient
import SluiceWire

/// What preparing a stream's table will do, decided before any data moves.
struct TableAction: Sendable {
    /// DDL statements, run in one transaction; the first creates the schema
    /// (``TableManager/createSchema(_:)``, run only when it is missing).
    var statements: [String]
    var plan: WritePlan
    /// Whether the stream's live table is created by the statements (it did not exist, or a
    /// forced migration recreates it): it then holds none of the rows a committed state covers.
    var createsTable = false
    /// User-defined types the statements create (``UserTypeInstaller``).
    var createdUserTypes: [UserType] = []
    /// The statements that create them, run right after the first of ``statements``.
    var userTypeStatements: [UserTypeStatement] = []
}

/// Creates and migrates destination tables.
struct TableManager {
    let connection: PostgresConnection
    let settings: DestinationSettings
    /// The schema of the stream's table.
    let schemaName: String
    /// The session's embeddings endpoint, when `embeddings` is configured.
    var embeddingClient: EmbeddingClient? = nil
    /// User-defined types that earlier streams of the Write create, by destination name.
    var plannedUserTypes: [ExactName: UserType] = [:]
    /// The database has PL/pgSQL, which ``WritePlan/statisticsGuard`` needs.
    var guardsStatistics = false
    /// The Write's metadata values, which the rows of a table whose metadata columns an earlier
    /// Write left to add (``WritePlan/metadataAfterLoad``) take when they are added.
    var syncedAtMicros: Int64 = 0
    var sourceName = ""

    /// Decides the DDL for a stream: create, safely migrate, or (forced) recreate its table.
    /// Throws `MIGRATION_REFUSED` listing every unsafe change in safe mode.
    /// With `replacementStarted`, a replace stream's replacement table is migrated, not recreated.
    /// `target` is the stream's table (its schema is `schemaName`). `cdc`: the stream is read by
    /// change data capture (with `deletes: soft`, its table gets `_sluice_deleted_at`).
    func action(for schema: StreamSchema, target: TableTarget, mode: WriteMode, key sourceKey: [String], staging: String,
                replacementStarted: Bool = false, cdc: Bool = false) async throws -> TableAction {
        let table = target.table
        var wanted: [WantedColumn] = []
        var userTypes = UserTypeInstaller(connection: connection, schemaName: schemaName, planned: plannedUserTypes)
        var typeStatements: [UserTypeStatement] = []
        var createdUserTypes: [UserType] = []
        for column in schema.columns {
            let plain = try await available(PostgresTypes.columnType(for: column), column: column.name, stream: schema.stream)
            var want = WantedColumn(name: Identifiers.shortened(column.name), type: plain, nullable: column.nullable)
            // A raw-layout table keeps records as jsonb: no column takes the type.
            if settings.userTypes == .recreate, settings.tableLayout != .raw, let reference = column.userType {
                let preparation = try await userTypes.prepare(column, reference: reference, stream: schema.stream)
                want.type = preparation.columnType
                want.formerType = plain
                typeStatements += preparation.statements
                createdUserTypes += preparation.created
            }
            wanted.append(want)
        }
        let names = wanted.map(\.name)
        if Set(names.map(ExactName.init)).count != names.count {
            throw PluginError(category: .config, code: "COLUMN_NAME_COLLISION",
                              message: "stream \(schema.stream): two columns map to the same PostgreSQL name", stream: schema.stream)
        }
        let key = sourceKey.map(Identifiers.shortened)
        let primaryKey = schema.primaryKey.map(Identifiers.shortened)
        let raw = settings.tableLayout == .raw
        let hasSyncedAt = settings.metadataColumns || mode == .mirror || raw
        let hasSource = settings.metadataColumns
        var metadata: [WantedColumn] = []
        if hasSyncedAt { metadata.append(WantedColumn(name: WritePlan.syncedAtColumn, type: "timestamp with time zone", nullable: true)) }
        if hasSource { metadata.append(WantedColumn(name: WritePlan.sourceColumn, type: "text", nullable: true)) }
        let softDeletes = cdc && settings.deletes == .soft
        if softDeletes { metadata.append(WantedColumn(name: WritePlan.deletedAtColumn, type: "timestamp with time zone", nullable: true)) }
        let rowID = settings.metadataColumns && primaryKey.isEmpty

        let writeTable = mode == .replace ? Identifiers.shortened(target.unshortenedTable + "_sluice_tmp") : table
        let qualified = SQL.quoteQualified(schema: schemaName, name: writeTable)
        var statements = [Self.createSchema(schemaName)]
        var createsTable = false
        var finalTypes = Dictionary(wanted.map { (ExactName($0.name), $0.type) }, uniquingKeysWith: { first, _ in first })
        // A table created here may get its primary key after its rows (``WritePlan/keyAfterLoad``).
        let keyAfterLoad = settings.primaryKeyAfterLoad && !raw && !cdc && !primaryKey.isEmpty
            && settings.embeddings?.table(for: schema.stream) == nil
            && ([.append, .replace].contains(mode) || ([.upsert, .mirror].contains(mode) && key == primaryKey))
        var keyDeferred = false
        // In append and upsert its metadata columns come with the key (``WritePlan/metadataAfterLoad``).
        let metadataAfterLoad = keyAfterLoad && [.append, .upsert].contains(mode) && !settings.createPerformanceIndexes && !metadata.isEmpty
        var metadataDeferred = false
        let create = { (name: String) -> [String] in
            let qualified = SQL.quoteQualified(schema: self.schemaName, name: name)
            keyDeferred = keyAfterLoad
            metadataDeferred = metadataAfterLoad
            if raw { return [RawLayout.createTable(qualified, hasSource: hasSource)] }
            return [self.createTable(qualified, wanted + (metadataAfterLoad ? [] : metadata), primaryKey: primaryKey, rowID: rowID, keyAfterLoad: keyAfterLoad)]
                + (keyAfterLoad ? [WritePlan.markKeyPending(qualified)] : [])
        }

        // The migration of an existing table to the stream's columns and `metadata`.
        let migrateTo = { (existing: [ExistingColumn], metadata: [WantedColumn]) -> Migration in
            raw ? Migration.plan(raw: RawLayout.columns(hasSource: hasSource), existing: existing, quote: SQL.quoteIdentifier)
                : Migration.plan(wanted: wanted + metadata, existing: existing, keepNotNull: Set(primaryKey.map(ExactName.init)), quote: SQL.quoteIdentifier)
        }
        let migrate = { (existing: [ExistingColumn]) -> Migration in migrateTo(existing, metadata) }
        var replaceInPlace: [String]?
        if mode == .replace && !replacementStarted {
            statements += ["DROP TABLE IF EXISTS \(qualified)"] + create(writeTable)
        } else if let existing = try await existingColumns(qualified) {
            // An earlier Write created the table and failed before building its primary key
            // (and, in append and upsert, before adding its metadata columns: they are added
            // with this Write's values for every row, not by the migration as empty columns;
            // but for mirror, which deletes the rows its sync did not write by those values,
            // they stay empty, so that the earlier Write's rows count as not written).
            let keyPending = raw ? false : try await keyIsPending(qualified)
            let deferrable = { (column: WantedColumn) in [WritePlan.syncedAtColumn, WritePlan.sourceColumn].contains(column.name) }
            let metadataMissing = keyPending && mode != .mirror && metadata.contains(where: deferrable)
                && !metadata.contains { column in deferrable(column) && existing.contains { $0.name.isExactly(column.name) } }
            var migration = migrateTo(existing, metadataMissing ? metadata.filter { !deferrable($0) } : metadata)
            let keyMigration = raw ? nil : try await self.keyMigration(qualified, existing: existing, wanted: primaryKey, mode: mode)
            if let refusal = keyMigration?.refusal { migration.refusals.append(refusal) }
            if migration.refusals.isEmpty {
                statements += keyMigration?.before ?? []
                if !migration.clauses.isEmpty { statements.append("ALTER TABLE \(qualified) " + migration.clauses.joined(separator: ", ")) }
                statements += keyMigration?.after ?? []
                // Append goes on loading without the key (and the metadata columns); the keyed
                // modes built it just above.
                if keyPending {
                    if keyMigration?.after.isEmpty == false || primaryKey.isEmpty {
                        statements += WritePlan.keyBuilt(qualified)
                    } else {
                        keyDeferred = true
                        metadataDeferred = metadataMissing && !settings.createPerformanceIndexes
                    }
                }
                if metadataMissing, !metadataDeferred {
                    statements += WritePlan.addMetadataColumns(qualified, syncedAt: hasSyncedAt, source: hasSource,
                                                               syncedAtMicros: syncedAtMicros, sourceName: sourceName)
                }
                finalTypes = migration.finalTypes
                if rowID, !raw, !existing.contains(where: { $0.name.isExactly(WritePlan.rowIDColumn) }) {
                    statements.append("ALTER TABLE \(qualified) ADD COLUMN \(SQL.quoteIdentifier(WritePlan.rowIDColumn)) uuid NOT NULL DEFAULT gen_random_uuid()")
                }
            } else if settings.migrateMode == .forced {
                statements += ["DROP TABLE \(qualified)" + (settings.migrateCascade ? " CASCADE" : "")] + create(writeTable)
                createsTable = mode != .replace
            } else {
                throw PluginError(category: .config, code: "MIGRATION_REFUSED",
                                  message: "table \(schemaName).\(writeTable) needs changes that could lose data; set migrate_mode to forced to drop and recreate it:\n"
                                      + migration.refusals.map { "  - \($0)" }.joined(separator: "\n"),
                                  stream: schema.stream)
            }
        } else {
            statements += create(writeTable)
            createsTable = mode != .replace
        }
        if mode == .replace {
            replaceInPlace = try await self.replaceInPlace(stream: schema.stream, live: table, migrate: migrate, primaryKey: primaryKey,
                                                           rowID: rowID, raw: raw, statements: &statements)
        }
        if !key.isEmpty, key != primaryKey, mode != .append, !raw {
            statements += try await keyIndexStatements(schema: schemaName, table: writeTable, key: key)
        }
        if settings.createPerformanceIndexes, hasSyncedAt, !raw {
            let index = SQL.quoteIdentifier(Identifiers.shortened(writeTable + "_sluice_synced_at"))
            statements.append("CREATE INDEX IF NOT EXISTS \(index) ON \(qualified) (\(SQL.quoteIdentifier(WritePlan.syncedAtColumn)))")
        }
        let columns = zip(schema.columns, wanted).map { column, want in
            WriteColumn(name: want.name, type: column.type, targetType: finalTypes[ExactName(want.name)] ?? want.type,
                       encodedType: PostgresTypes.encodedType(for: column))
        }
        var plan = WritePlan(stream: schema.stream, schema: schema, mode: mode, key: key, schemaName: schemaName, table: table,
                              writeTable: writeTable, columns: columns, hasSyncedAt: hasSyncedAt, raw: raw, hasSource: hasSource, staging: staging,
                              replaceInPlace: replaceInPlace, cdc: cdc, softDeletes: softDeletes)
        plan.merges = connection.serverVersionNumber >= 150_000
        plan.guardsStatistics = guardsStatistics
        let staged = raw || [.upsert, .updateOnly, .mirror].contains(mode) || settings.embeddings?.table(for: schema.stream) != nil || !plan.direct
        try TableLimits.check(plan, rowID: rowID, staged: staged, metadataSetting: settings.metadataColumns)
        if let embedded = settings.embeddings?.table(for: schema.stream), let embeddings = settings.embeddings, let embeddingClient {
            let embedding = try embeddingPlan(embedded, embeddings, client: embeddingClient, plan: plan)
            statements += try await embeddingStatements(embedding, plan: plan, replacementStarted: replacementStarted)
            plan.embedding = embedding
        }
        var planned = plan
        planned.freshTable = createsTable
        planned.keyAfterLoad = keyDeferred
        planned.metadataAfterLoad = metadataDeferred
        return TableAction(statements: statements, plan: planned, createsTable: createsTable, createdUserTypes: createdUserTypes,
                           userTypeStatements: typeStatements)
    }

    /// `type` when it is built in or the database has its extension (vector, citext, …); else
    /// text with `missing_extension_types: text`, or a configuration error before any data moves.
    private func available(_ type: String, column: String, stream: StreamID) async throws -> String {
        guard let extensionName = PostgresTypes.extensionOf(type) else { return type }
        let present = try await connection.execute("SELECT to_regtype($1) IS NOT NULL", [.text(PostgresTypes.base(type))]).rows.first?.first == "t"
        if present { return type }
        if settings.missingExtensionTypes == .text { return type.hasSuffix("[]") ? "text[]" : "text" }
        throw PluginError(category: .config, code: "EXTENSION_TYPE_MISSING",
                          message: "stream \(stream): column \"\(column)\" has the source type \(type) of the \(extensionName) extension, which this database does not have: "
                              + "run CREATE EXTENSION \(extensionName) in it, or set missing_extension_types to text to store the values as text",
                          stream: stream)
    }

    /// Checks an `embeddings` entry against the stream, before any data moves.
    private func embeddingPlan(_ entry: EmbeddingSettings.Table, _ settings: EmbeddingSettings, client: EmbeddingClient,
                               plan: WritePlan) throws -> EmbeddingPlan {
        let stream = plan.stream
        func refuse(_ code: String, _ message: String) -> PluginError {
            PluginError(category: .config, code: code, message: "stream \(stream): embeddings: \(message)", stream: stream)
        }
        guard !plan.raw else {
            throw refuse("EMBEDDINGS_MODE", "not available with table_layout raw")
        }
        guard !plan.key.isEmpty else {
            throw refuse("EMBEDDINGS_NEED_KEY", "the stream has no primary key; give it key_columns so each chunk can name its row")
        }
        let names = plan.schema.columns.map(\.name)
        var embed: [Int] = []
        for name in entry.embedColumns {
            guard let index = names.firstIndexExactly(of: name) else { throw refuse("EMBEDDINGS_COLUMN", "embed column \"\(name)\" is not a column of the stream") }
            guard [.string, .json].contains(plan.schema.columns[index].type.kind) else {
                throw refuse("EMBEDDINGS_COLUMN", "embed column \"\(name)\" is not text")
            }
            embed.append(index)
        }
        let metadata = try entry.metadataColumns.map { name -> String in
            guard let index = names.firstIndexExactly(of: name) else { throw refuse("EMBEDDINGS_COLUMN", "metadata column \"\(name)\" is not a column of the stream") }
            return plan.columns[index].name
        }
        let live = Identifiers.shortened(plan.table + "_embeddings")
        return EmbeddingPlan(schemaName: schemaName, liveTable: live,
                             table: plan.mode == .replace ? Identifiers.shortened(live + "_sluice_tmp") : live, embedColumns: embed,
                             metadataColumns: metadata, dimensions: settings.dimensions,
                             splitter: TextSplitter(chunkSize: settings.chunkSize, chunkOverlap: settings.chunkOverlap), client: client)
    }

    /// Creates pgvector and the embeddings table (for `replace`, a fresh replacement); an existing
    /// one with other dimensions is refused in safe mode and recreated in forced mode; missing
    /// metadata columns are added.
    private func embeddingStatements(_ embedding: EmbeddingPlan, plan: WritePlan, replacementStarted: Bool) async throws -> [String] {
        let available = try await connection.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
        guard available.rows.first?.first == "1" else {
            throw PluginError(category: .config, code: "PGVECTOR_MISSING",
                              message: "stream \(plan.stream): embeddings need the pgvector extension (vector), which this server does not have: install it on the server", stream: plan.stream)
        }
        var statements = ["CREATE EXTENSION IF NOT EXISTS vector"]
        if plan.mode == .replace && !replacementStarted {
            return statements + ["DROP TABLE IF EXISTS \(embedding.qualified)", embedding.createTable(plan)]
        }
        guard let existing = try await existingColumns(embedding.qualified) else { return statements + [embedding.createTable(plan)] }
        let vector = existing.first { $0.name.isExactly(EmbeddingPlan.vectorColumn) }?.type
        guard vector == "vector(\(embedding.dimensions))" else {
            guard settings.migrateMode == .forced else {
                throw PluginError(category: .config, code: "MIGRATION_REFUSED",
                                  message: "table \(schemaName).\(embedding.table) holds \(vector ?? "no") embeddings, not vector(\(embedding.dimensions)); set migrate_mode to forced to drop and recreate it",
                                  stream: plan.stream)
            }
            return statements + ["DROP TABLE \(embedding.qualified)", embedding.createTable(plan)]
        }
        for name in embedding.metadataColumns where !existing.contains(where: { $0.name.isExactly(name) }) {
            guard let column = plan.columns.first(where: { $0.name.isExactly(name) }) else { continue }
            statements.append("ALTER TABLE \(embedding.qualified) ADD COLUMN \(SQL.quoteIdentifier(name)) \(column.targetType)")
        }
        return statements
    }

    /// Runs an action's DDL in one transaction: its own, or with `inOpenTransaction` the one
    /// open on the connection (committed or rolled back with the rows written in it). A created
    /// table forgets the states committed for it (``CommittedStateStore/forget(table:tableSchema:stateSchema:on:)``)
    /// in the same transaction; `stateSchema` is where they are kept.
    func apply(_ action: TableAction, stateSchema: String, inOpenTransaction: Bool = false) async throws {
        let run = {
            for (index, statement) in action.statements.enumerated() {
                if index == 0 {
                    try await Self.createSchemaIfMissing(schemaName, on: connection)
                } else {
                    _ = try await connection.execute(statement)
                }
                // The schema comes first, then the types its table uses.
                guard index == 0 else { continue }
                for typeStatement in action.userTypeStatements {
                    do throws(PostgresError) {
                        _ = try await connection.execute(typeStatement.sql)
                    } catch {
                        guard error.kind == .server else { throw error }
                        throw typeStatement.refused(error)
                    }
                }
            }
            if action.createsTable {
                try await CommittedStateStore.forget(table: action.plan.table, tableSchema: schemaName, stateSchema: stateSchema, on: connection)
            }
        }
        if inOpenTransaction {
            try await run()
            return
        }
        _ = try await connection.execute("BEGIN")
        do {
            try await run()
            try await connection.commit()
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            throw error
        }
    }

    /// The statement that creates the schema `name`: the first of a ``TableAction``'s.
    static func createSchema(_ name: String) -> String { "CREATE SCHEMA IF NOT EXISTS \(SQL.quoteIdentifier(name))" }

    /// Creates the schema `name` only when no schema has that name (compared exactly): `CREATE
    /// SCHEMA IF NOT EXISTS` asks for CREATE on the database even when the schema exists, which
    /// a role that only writes into it need not have.
    static func createSchemaIfMissing(_ name: String, on connection: PostgresConnection) async throws {
        if try await !schemaExists(name, on: connection) { _ = try await connection.execute(createSchema(name)) }
    }

    /// Whether a schema is named exactly `name`.
    static func schemaExists(_ name: String, on connection: PostgresConnection) async throws -> Bool {
        try await connection.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", [.text(name)]).rows.first?.first == "t"
    }

    /// Whether the relation `qualified` (quoted, as ``SQL/quoteQualified(schema:name:)`` makes it) exists.
    static func tableExists(_ qualified: String, on connection: PostgresConnection) async throws -> Bool {
        try await connection.execute("SELECT to_regclass($1) IS NOT NULL", [.text(qualified)]).rows.first?.first == "t"
    }

    /// Whether `qualified` has no primary key and is marked as waiting for one (``WritePlan/keyAfterLoad``).
    func keyIsPending(_ qualified: String) async throws -> Bool {
        try await connection.execute(
            "SELECT obj_description(to_regclass($1), 'pg_class') IS NOT DISTINCT FROM $2 "
                + "AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p')",
            [.text(qualified), .text(WritePlan.keyPendingComment)]).rows.first?.first == "t"
    }

    /// The table's columns, or nil when it doesn't exist.
    func existingColumns(_ qualified: String) async throws -> [ExistingColumn]? {
        guard try await Self.tableExists(qualified, on: connection) else { return nil }
        let result = try await connection.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a "
                + "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            [.text(qualified)])
        return result.rows.map { ExistingColumn(name: $0[0] ?? "", type: $0[1] ?? "", notNull: $0[2] == "t") }
    }

    /// `keyAfterLoad`: the primary key's columns are NOT NULL, the key itself is left to
    /// ``WritePlan/addPrimaryKey``, and autovacuum waits for it (``WritePlan/loadingStorageParameters``).
    private func createTable(_ qualified: String, _ columns: [WantedColumn], primaryKey: [String], rowID: Bool, keyAfterLoad: Bool) -> String {
        var definitions = columns.map { column in
            let notNull = !column.nullable || (keyAfterLoad && primaryKey.containsExactly(column.name))
            return "\(SQL.quoteIdentifier(column.name)) \(column.type)" + (notNull ? " NOT NULL" : "")
        }
        if rowID { definitions.append("\(SQL.quoteIdentifier(WritePlan.rowIDColumn)) uuid NOT NULL DEFAULT gen_random_uuid()") }
        if !primaryKey.isEmpty, !keyAfterLoad { definitions.append("PRIMARY KEY (\(primaryKey.map(SQL.quoteIdentifier).joined(separator: ", ")))") }
        return "CREATE TABLE \(qualified) (\(definitions.joined(separator: ", ")))" + (keyAfterLoad ? " WITH (\(WritePlan.loadingStorageParameters))" : "")
    }
}
