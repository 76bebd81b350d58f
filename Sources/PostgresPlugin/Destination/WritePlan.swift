import PostgresClient
import SluiceWire

/// One stream column as written: its PostgreSQL name, the table's type for it, and the type
/// its binary data is sent as.
struct WriteColumn: Sendable {
    var name: String
    var type: LogicalType
    var targetType: String
    var encodedType: String
    /// Whether values go through a staging column of `encodedType` and a cast.
    var needsCast: Bool { !PostgresTypes.binaryCompatible(encoded: encodedType, target: targetType) }
    /// Whether JSON values are sent as `json` (their text as it is) rather than `jsonb`.
    var plainJSON: Bool { encodedType == "json" || encodedType == "json[]" }
}

/// How one stream is written: its table, columns, key, and the SQL of each flush.
struct WritePlan: Sendable {
    static let syncedAtColumn = "_sluice_synced_at"
    static let sourceColumn = "_sluice_source"
    static let rowIDColumn = "_sluice_row_id"
    static let sequenceColumn = "_sluice_seq"
    static let deleteColumn = "_sluice_del"
    /// Staging, CDC streams: NULL, or one byte per column, 1 where the value is unchanged and
    /// the destination keeps its own (PROTOCOL.md §5.9).
    static let unchangedColumn = "_sluice_unchanged"
    /// `deletes: soft`: when a CDC delete (or truncate) removed the row at the source.
    static let deletedAtColumn = "_sluice_deleted_at"

    var stream: StreamID
    var schema: StreamSchema
    var mode: WriteMode
    /// PostgreSQL names of the key columns; empty when the stream has no key.
    var key: [String]
    var schemaName: String
    /// The table name readers see.
    var table: String
    /// Where flushes write: `table`, or the replacement table for `replace`.
    var writeTable: String
    var columns: [WriteColumn]
    var hasSyncedAt: Bool
    /// `table_layout: raw`: the table holds ``RawLayout`` rows; the columns only shape staging.
    var raw: Bool
    var hasSource: Bool
    /// The session's temporary staging table for this plan.
    var staging: String
    /// The schema of `staging` when it is not the session's temporary table but a staging slot
    /// filled on another connection (``Stager``, ``stagedIn(_:)``).
    var stagingSchema: String? = nil
    /// `replace` into a table that views depend on: the final transaction replaces the live
    /// table's rows with the replacement's, running these statements once it is emptied,
    /// instead of swapping the tables (``TableManager/replaceRows(_:afterEmptying:)``).
    var replaceInPlace: [String]? = nil
    /// The stream's pgvector embeddings table, when configured.
    var embedding: EmbeddingPlan? = nil
    /// Whether this Write created the table (it held no rows when the Write began): upsert and
    /// mirror then COPY rows straight into it while no key repeats (``Flush/Route/fresh(_:)``).
    var freshTable = false
    /// The write table was created without its primary key (`primary_key_after_load`):
    /// ``addPrimaryKey`` builds it once the rows are in, or before the first flush that needs it.
    var keyAfterLoad = false
    /// The write table was created without its metadata columns (with ``keyAfterLoad``, in
    /// append and upsert): flushes leave them out until ``addMetadataColumns(syncedAtMicros:sourceName:)``
    /// adds them with the primary key, and the rows already in get their values from the
    /// catalog (PostgreSQL evaluates a non-volatile default of an added column once and keeps it
    /// as the value of the rows before it) instead of carrying them in every row.
    var metadataAfterLoad = false
    /// The stream is read by change data capture: its rows may leave values unchanged and
    /// truncate the table (``ChangeApply``).
    var cdc = false
    /// `deletes: soft` for a CDC stream: deletes set `_sluice_deleted_at` instead of deleting.
    var softDeletes = false
    /// The server has MERGE (PostgreSQL 15 and later): staged rows are upserted with it
    /// (``upsertFromStaging(distinctKeys:)``).
    var merges = false
    /// The database has PL/pgSQL (it does unless someone dropped it), which
    /// ``statisticsGuard`` needs.
    var guardsStatistics = false

    var target: String { SQL.quoteQualified(schema: schemaName, name: writeTable) }

    /// Builds the write table's primary key (``keyAfterLoad``).
    var addPrimaryKey: String {
        "ALTER TABLE \(target) ADD PRIMARY KEY (\(schema.primaryKey.map { SQL.quoteIdentifier(Identifiers.shortened($0)) }.joined(separator: ", ")))"
    }

    /// The comment that marks a table created without its primary key (``keyAfterLoad``), so
    /// that the next Write builds it when this one fails first (even in append, which otherwise
    /// leaves a table without a primary key as it is).
    static let keyPendingComment = "sluice: the primary key is built when the rows are loaded"

    static func markKeyPending(_ qualified: String) -> String {
        // A constant without quotes: safe as a literal.
        "COMMENT ON TABLE \(qualified) IS '\(keyPendingComment)'"
    }

    /// The storage parameters of a table created without its primary key (``keyAfterLoad``):
    /// autovacuum stays off it while it loads, so that it neither vacuums rows still arriving
    /// (setting hint bits and the visibility map of pages the load just wrote, competing with it
    /// for the cores) nor holds a lock the key's build must wait for until PostgreSQL cancels it
    /// (`deadlock_timeout`, 1 s by default). PostgreSQL still vacuums to prevent transaction ID
    /// wraparound. ``keyBuilt(_:)`` resets them.
    static let loadingStorageParameters = "autovacuum_enabled = false, toast.autovacuum_enabled = false"

    /// The statements that build the pending primary key (``keyAfterLoad``), in one transaction:
    /// `metadata` first (``addMetadataColumns(syncedAtMicros:sourceName:)``, when the table
    /// still lacks those columns), the key, then ``keyBuilt(_:)``.
    func keyStatements(adding metadata: [String]) -> [String] {
        metadata + [addPrimaryKey] + Self.keyBuilt(target)
    }

    /// The statements that end a pending key's wait once it is built: the mark goes and
    /// autovacuum is back to the server's settings (``loadingStorageParameters``).
    static func keyBuilt(_ qualified: String) -> [String] {
        ["COMMENT ON TABLE \(qualified) IS NULL", "ALTER TABLE \(qualified) RESET (autovacuum_enabled, toast.autovacuum_enabled)"]
    }

    /// This plan for flushes into the table while its metadata columns are not there yet
    /// (``metadataAfterLoad``).
    var withoutMetadata: WritePlan {
        var plan = self
        plan.hasSyncedAt = false
        plan.hasSource = false
        return plan
    }

    /// The statements that add the metadata columns to `qualified` (``metadataAfterLoad``): the
    /// rows there take `syncedAtMicros` and `sourceName` as the Write's rows carry them, stored
    /// once in the catalog (a column added with a non-volatile default does not rewrite the
    /// table), and later rows name their own values (the defaults are dropped). DDL takes no
    /// parameters: the source name goes in as an escaped literal.
    static func addMetadataColumns(_ qualified: String, syncedAt: Bool, source: Bool, syncedAtMicros: Int64, sourceName: String) -> [String] {
        var added: [String] = [], dropped: [String] = []
        if syncedAt {
            let column = SQL.quoteIdentifier(syncedAtColumn)
            added.append("ADD COLUMN \(column) timestamp with time zone DEFAULT timestamptz '1970-01-01 00:00:00+00' + \(syncedAtMicros) * interval '1 microsecond'")
            dropped.append("ALTER COLUMN \(column) DROP DEFAULT")
        }
        if source {
            let column = SQL.quoteIdentifier(sourceColumn)
            added.append("ADD COLUMN \(column) text DEFAULT \(DDLLiteral.of(sourceName))")
            dropped.append("ALTER COLUMN \(column) DROP DEFAULT")
        }
        guard !added.isEmpty else { return [] }
        return ["ALTER TABLE \(qualified) " + added.joined(separator: ", "), "ALTER TABLE \(qualified) " + dropped.joined(separator: ", ")]
    }

    /// ``addMetadataColumns(_:syncedAt:source:syncedAtMicros:sourceName:)`` for this plan's table.
    func addMetadataColumns(syncedAtMicros: Int64, sourceName: String) -> [String] {
        Self.addMetadataColumns(target, syncedAt: hasSyncedAt, source: hasSource, syncedAtMicros: syncedAtMicros, sourceName: sourceName)
    }

    var quotedStaging: String {
        stagingSchema.map { SQL.quoteQualified(schema: $0, name: staging) } ?? SQL.quoteIdentifier(staging)
    }

    /// This plan with its staged rows read from `slot`, a table another connection filled.
    func stagedIn(_ slot: StagingSlot) -> WritePlan {
        var plan = self
        plan.staging = slot.name
        plan.stagingSchema = slot.schema
        return plan
    }

    /// Every column a flush writes, metadata included, quoted.
    var writtenColumns: [String] {
        columns.map { SQL.quoteIdentifier($0.name) } + metadataColumns.map(SQL.quoteIdentifier)
    }

    var metadataColumns: [String] {
        (hasSyncedAt ? [Self.syncedAtColumn] : []) + (hasSource ? [Self.sourceColumn] : [])
    }

    /// Whether binary COPY can go straight into the table.
    var direct: Bool { !columns.contains(where: \.needsCast) }

    /// Whether the stream's rows can be loaded as the PostgreSQL rows a source sends
    /// (PROTOCOL.md §5.12): by COPY, into the table or its staging table, every column of the
    /// type it has at the source (the schema's `source_type`) and staged without a cast, so each
    /// value's binary form goes in as it came and the server checks it as its own type. Not for
    /// change data capture, embeddings or the raw table layout, which read the values.
    var takesPostgresRows: Bool {
        !raw && embedding == nil && !cdc && direct && columns.count == schema.columns.count
            && zip(columns, schema.columns).allSatisfy { column, source in !source.sourceType.isEmpty && column.targetType == source.sourceType }
    }

    /// Whether a list column's elements have no array-literal form (so INSERT can't carry it).
    var hasListColumnWithoutLiteral: Bool {
        columns.contains { $0.type.kind == .list && !FieldEncoder.listLiteralSupports($0.type.elementKind) }
    }

    var copyIntoTarget: String {
        "COPY \(target) (\(writtenColumns.joined(separator: ", "))) FROM STDIN (FORMAT binary)"
    }

    var copyIntoStaging: String {
        let all = writtenColumns + TableLimits.stagingColumns(self).map(SQL.quoteIdentifier)
        return "COPY \(quotedStaging) (\(all.joined(separator: ", "))) FROM STDIN (FORMAT binary)"
    }

    /// The staging table's columns: the encoded ones, the metadata, the sequence and delete
    /// flags (and, for CDC, the unchanged-columns mask).
    private var stagingDefinitions: String {
        var definitions = columns.map { "\(SQL.quoteIdentifier($0.name)) \($0.encodedType)" }
        if hasSyncedAt { definitions.append("\(SQL.quoteIdentifier(Self.syncedAtColumn)) timestamp with time zone") }
        if hasSource { definitions.append("\(SQL.quoteIdentifier(Self.sourceColumn)) text") }
        definitions.append("\(SQL.quoteIdentifier(Self.sequenceColumn)) bigint")
        definitions.append("\(SQL.quoteIdentifier(Self.deleteColumn)) boolean")
        if cdc { definitions.append("\(SQL.quoteIdentifier(Self.unchangedColumn)) bytea") }
        return definitions.joined(separator: ", ")
    }

    var createStaging: String {
        let table = "CREATE TEMPORARY TABLE IF NOT EXISTS \(quotedStaging) (\(stagingDefinitions)) ON COMMIT DELETE ROWS"
        return merges ? "\(table); CREATE TEMPORARY SEQUENCE IF NOT EXISTS \(Self.insertCounter)" : table
    }

    /// Creates `slot` with the staging table's columns: unlogged (scratch rows, never worth the
    /// write-ahead log) and visible to the Write's other connections; autovacuum stays off it
    /// (``loadingStorageParameters``): its rows live one flush, and a vacuum or analyze of it
    /// would hold the lock its next `TRUNCATE` must wait for (until PostgreSQL cancels the
    /// worker after `deadlock_timeout`).
    func createSlot(_ slot: StagingSlot) -> String {
        "CREATE UNLOGGED TABLE \(stagedIn(slot).quotedStaging) (\(stagingDefinitions)) WITH (\(Self.loadingStorageParameters))"
    }

    /// The staging value of each written column, cast to the table's type where needed.
    private func selectList(_ alias: String) -> [String] {
        columns.map { column in
            let value = "\(alias).\(SQL.quoteIdentifier(column.name))"
            return column.needsCast ? "CAST(\(value) AS \(column.targetType))" : value
        } + metadataColumns.map { "\(alias).\(SQL.quoteIdentifier($0))" }
    }

    func keyValue(_ alias: String, _ name: String) -> String {
        let value = "\(alias).\(SQL.quoteIdentifier(name))"
        guard let column = columns.first(where: { $0.name.isExactly(name) }), column.needsCast else { return value }
        return "CAST(\(value) AS \(column.targetType))"
    }

    var keyList: String { key.map(SQL.quoteIdentifier).joined(separator: ", ") }

    func keyMatch(_ table: String, _ staged: String) -> String {
        key.map { "\(table).\(SQL.quoteIdentifier($0)) = \(keyValue(staged, $0))" }.joined(separator: " AND ")
    }

    /// The last operation per key of the staged rows.
    var lastPerKey: String {
        "SELECT DISTINCT ON (\(keyList)) * FROM \(quotedStaging) ORDER BY \(keyList), \(SQL.quoteIdentifier(Self.sequenceColumn)) DESC"
    }

    /// Appends staged rows, skipping those a later delete of the same key cancels.
    var appendFromStaging: String {
        let seq = SQL.quoteIdentifier(Self.sequenceColumn), del = SQL.quoteIdentifier(Self.deleteColumn)
        var sql = "INSERT INTO \(target) (\(writtenColumns.joined(separator: ", "))) SELECT \(selectList("s").joined(separator: ", ")) FROM \(quotedStaging) s WHERE NOT s.\(del)"
        if !key.isEmpty {
            sql += " AND NOT EXISTS (SELECT 1 FROM \(quotedStaging) d WHERE d.\(del) AND d.\(seq) > s.\(seq) AND "
                + key.map { "d.\(SQL.quoteIdentifier($0)) = s.\(SQL.quoteIdentifier($0))" }.joined(separator: " AND ") + ")"
        }
        return sql + " ORDER BY s.\(seq)"
    }

    /// Deletes the rows whose key's last staged operation is a delete; returns one count.
    var deleteFromStaging: String {
        let del = SQL.quoteIdentifier(Self.deleteColumn)
        if softDeletes { return softDeleteFromStaging }
        return "WITH d AS (DELETE FROM \(target) t USING (\(lastPerKey)) s WHERE s.\(del) AND \(keyMatch("t", "s")) RETURNING 1) SELECT count(*) FROM d"
    }

    /// Inserts or updates the last staged row of each key, with MERGE where the server has it
    /// (``merges``), else `INSERT … ON CONFLICT`. With `distinctKeys` (no key repeats among the
    /// staged rows) the rows are taken as they are.
    func upsertFromStaging(distinctKeys: Bool) -> StagedUpsert {
        let del = SQL.quoteIdentifier(Self.deleteColumn)
        let source = distinctKeys ? quotedStaging : "(\(lastPerKey))", filter = "WHERE NOT s.\(del)\(withoutUnchanged("s"))"
        guard merges else { return StagedUpsert(sql: upsert(from: source, where: filter), merges: false) }
        let counter = "pg_temp.\(Self.insertCounter)"
        let updates = upsertedColumns.map { "\($0) = s.\($0)" } + revived
        let values = zip(selectList("s"), writtenColumns).map { "\($0) AS \($1)" }
        let match = key.map { "t.\(SQL.quoteIdentifier($0)) = s.\(SQL.quoteIdentifier($0))" }.joined(separator: " AND ")
        // MERGE reports only how many rows it changed: a temporary sequence counts the inserts.
        return StagedUpsert(sql: (guardsStatistics ? "\(statisticsGuard); " : "") + "SELECT setval('\(counter)', 1, false); "
            + "MERGE INTO \(target) AS t USING (SELECT \(values.joined(separator: ", ")) FROM \(source) s \(filter)) AS s ON \(match) "
            + "WHEN MATCHED THEN UPDATE SET \(updates.joined(separator: ", ")) "
            + "WHEN NOT MATCHED AND nextval('\(counter)') > 0 THEN INSERT (\(writtenColumns.joined(separator: ", "))) "
            + "VALUES (\(writtenColumns.map { "s.\($0)" }.joined(separator: ", "))); "
            + "SELECT last_value, is_called FROM \(counter)", merges: true)
    }

    /// Analyzes the table when its statistics say it holds no rows but has pages (a VACUUM found
    /// only dead rows, e.g. those of a failed Write, and could not truncate): the planner then takes
    /// it for empty even while this transaction fills it, and may join staged rows to it by
    /// scanning the whole table once per staged row. Run before each statement that joins
    /// staged rows to the table; ANALYZE counts this transaction's own rows. Needs PL/pgSQL
    /// (``guardsStatistics``).
    var statisticsGuard: String {
        let literal = "'" + target.replacingOccurrences(of: "'", with: "''") + "'"
        let body = "BEGIN IF (SELECT reltuples = 0 AND relpages > 0 FROM pg_class WHERE oid = to_regclass(\(literal))) "
            + "THEN ANALYZE \(target); END IF; END"
        // A dollar-quote tag the body does not contain (the table's name could).
        var tag = "$sluice$", attempt = 0
        while body.contains(tag) {
            attempt += 1
            tag = "$sluice\(attempt)$"
        }
        return "DO \(tag)\(body)\(tag)"
    }

    /// The temporary sequence that counts the rows a MERGE inserts.
    static let insertCounter = "sluice_inserted"

    /// The columns an upsert sets in a row whose key is there, quoted: the key itself when
    /// nothing else is written, so that the row still counts as updated.
    private var upsertedColumns: [String] {
        let nonKey = writtenColumns.filter { !key.map(SQL.quoteIdentifier).containsExactly($0) }
        return nonKey.isEmpty ? [SQL.quoteIdentifier(key[0])] : nonKey
    }

    /// The rows of `source` (aliased `s`, filtered by `filter`) inserted or updated by key;
    /// returns inserted and updated counts.
    private func upsert(from source: String, where filter: String) -> String {
        let updates = upsertedColumns.map { "\($0) = EXCLUDED.\($0)" } + revived
        return "WITH w AS (INSERT INTO \(target) AS t (\(writtenColumns.joined(separator: ", "))) SELECT \(selectList("s").joined(separator: ", ")) FROM \(source) s \(filter) "
            + "ON CONFLICT (\(keyList)) DO UPDATE SET \(updates.joined(separator: ", ")) RETURNING (t.xmax = 0) AS inserted) "
            + "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w"
    }

    // MARK: Fresh tables

    /// The savepoint a fresh table's direct COPY runs under.
    static let freshSavepoint = "sluice_fresh"

    /// The session's temporary table holding a fresh-table flush whose direct COPY met a key
    /// already in the table: the written columns as the table has them (``direct`` plans only).
    var freshStaging: String { Identifiers.shortened(staging + "_fresh") }

    var createFreshStaging: String {
        "CREATE TEMPORARY TABLE IF NOT EXISTS \(SQL.quoteIdentifier(freshStaging)) ON COMMIT DELETE ROWS AS "
            + "SELECT \(writtenColumns.joined(separator: ", ")) FROM \(target) WITH NO DATA"
    }

    var copyIntoFreshStaging: String {
        "COPY \(SQL.quoteIdentifier(freshStaging)) (\(writtenColumns.joined(separator: ", "))) FROM STDIN (FORMAT binary)"
    }

    /// Upserts the rows of ``freshStaging`` (their keys are distinct); returns inserted and updated counts.
    var upsertFromFreshStaging: StagedUpsert { StagedUpsert(sql: upsert(from: SQL.quoteIdentifier(freshStaging), where: ""), merges: false) }

    /// Updates rows whose key exists; returns updated and staged-row counts.
    var updateFromStaging: String {
        let del = SQL.quoteIdentifier(Self.deleteColumn)
        let nonKey = columns.filter { !key.containsExactly($0.name) }.map(\.name) + metadataColumns
        let sets = (nonKey.isEmpty ? [key[0]] : nonKey).map { name -> String in
            let column = columns.first { $0.name.isExactly(name) }
            let value = "s.\(SQL.quoteIdentifier(name))"
            let cast = column.map { $0.needsCast ? "CAST(\(value) AS \($0.targetType))" : value } ?? value
            return "\(SQL.quoteIdentifier(name)) = \(cast)"
        }
        return "WITH s AS (SELECT * FROM (\(lastPerKey)) l WHERE NOT l.\(del)), "
            + "u AS (UPDATE \(target) t SET \(sets.joined(separator: ", ")) FROM s WHERE \(keyMatch("t", "s")) RETURNING 1) "
            + "SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM s)"
    }

    /// Appends rows given as one array parameter per written column.
    var insertFromArrays: String {
        let arrays = columns.enumerated().map { index, column in
            "$\(index + 1)::" + (column.type.kind == .list ? "text[]" : column.encodedType + "[]")
        }
            + metadataColumns.enumerated().map { index, name in
                "$\(columns.count + index + 1)::" + (name == Self.syncedAtColumn ? "timestamp with time zone[]" : "text[]")
            }
        let names = (0..<arrays.count).map { "c\($0)" }
        let select = columns.enumerated().map { index, column in
            column.needsCast || column.type.kind == .list ? "CAST(u.c\(index) AS \(column.targetType))" : "u.c\(index)"
        } + metadataColumns.indices.map { "u.c\(columns.count + $0)" }
        return "INSERT INTO \(target) (\(writtenColumns.joined(separator: ", "))) SELECT \(select.joined(separator: ", ")) "
            + "FROM unnest(\(arrays.joined(separator: ", "))) AS u(\(names.joined(separator: ", ")))"
    }
}
