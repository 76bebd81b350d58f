import SluiceWire

/// Settings of the destination role (Write).
struct DestinationSettings: Sendable {
    /// The write mode of streams whose configured catalog leaves it unspecified; nil when
    /// `write_mode` is not set (see ``mode(of:configured:)``).
    var writeMode: WriteMode?
    /// Key columns per stream name (`table` or `schema.table`, byte for byte), for streams
    /// without a primary key.
    var keyColumns: [ExactName: [String]]
    /// `typed`: one column per field. `raw`: id uuid, emitted-at timestamptz, data jsonb.
    var tableLayout: String
    /// Seconds a received row may wait before it is flushed.
    var batchTimeout: Double
    /// `auto`, `insert` (multi-row parameterised INSERT) or `copy` (binary COPY).
    var insertMethod: String
    /// `safe` or `forced`.
    var migrateMode: String
    /// With `forced`: drop dependent objects too (DROP … CASCADE).
    var migrateCascade: Bool
    var createPerformanceIndexes: Bool
    /// Adds `_sluice_synced_at`, `_sluice_source` and, without a primary key, `_sluice_row_id`.
    var metadataColumns: Bool
    /// `strip` (default, counted in the summary) or `fail`.
    var nulBytes: String
    /// Columns of an extension type the database lacks: `fail` (default) or `text`.
    var missingExtensionTypes: String
    /// Columns of a source's user-defined enum, domain or composite type.
    var userTypes: UserTypeHandling
    /// `state` (default): flushes between two states share one transaction per connection,
    /// committed at the state. `flush`: every flush commits on its own.
    var transactionScope: String
    /// pgvector embedding tables, when configured.
    var embeddings: EmbeddingSettings?
    /// CDC streams' deletes: `hard` (default) deletes the row, `soft` sets `_sluice_deleted_at`.
    var deletes: String
    /// The schema of each stream's table (`{namespace}`, `{name}`); nil: `schema`.
    var schemaTemplate: String?
    /// The name of each stream's table (`{namespace}`, `{name}`); default `{name}`.
    var tableNameTemplate: String

    static let writeModes = ["append", "upsert", "update-only", "mirror", "replace"]
    static let writeModeAliases = ["overwrite": "upsert", "overwrite-delete-stale": "mirror"]

    init(_ reader: inout ConfigReader) {
        writeMode = reader.has("write_mode")
            ? Self.writeMode(named: reader.choice("write_mode", allowed: Self.writeModes, aliases: Self.writeModeAliases, default: "append"))
            : nil
        var keys: [ExactName: [String]] = [:]
        if var map = reader.object("key_columns") {
            for table in map.keys.sorted() { keys[ExactName(table)] = map.stringArray(table) }
            reader.merge(map)
        }
        keyColumns = keys
        tableLayout = reader.choice("table_layout", allowed: ["typed", "raw"], default: "typed")
        batchTimeout = reader.duration("batch_timeout", default: 60)
        insertMethod = reader.choice("insert_method", allowed: ["auto", "insert", "copy"], default: "auto")
        migrateMode = reader.choice("migrate_mode", allowed: ["safe", "forced"], default: "safe")
        migrateCascade = reader.bool("migrate_cascade", default: false)
        createPerformanceIndexes = reader.bool("create_performance_indexes", default: false)
        metadataColumns = reader.bool("metadata_columns", default: true)
        nulBytes = reader.choice("nul_bytes", allowed: ["strip", "fail"], default: "strip")
        missingExtensionTypes = reader.choice("missing_extension_types", allowed: ["fail", "text"], default: "fail")
        userTypes = UserTypeHandling(rawValue: reader.choice("user_types", allowed: UserTypeHandling.allCases.map(\.rawValue),
                                                             default: UserTypeHandling.recreate.rawValue)) ?? .recreate
        transactionScope = reader.choice("transaction_scope", allowed: ["state", "flush"], default: "state")
        embeddings = EmbeddingSettings(&reader)
        deletes = reader.choice("deletes", allowed: ["hard", "soft"], default: "hard")
        schemaTemplate = reader.string("schema_template")
        tableNameTemplate = reader.string("table_name_template", default: "{name}")
        for (key, template) in [("schema_template", schemaTemplate), ("table_name_template", tableNameTemplate)] {
            for problem in template.map(TableNaming.problems(in:)) ?? [] { reader.problem(key, problem) as Void? }
        }
    }

    /// Where each stream's table lands, with `schema` as the default schema.
    func naming(defaultSchema: String) -> TableNaming {
        TableNaming(defaultSchema: defaultSchema, schemaTemplate: schemaTemplate, tableTemplate: tableNameTemplate)
    }

    /// The write mode of a stream: its configured catalog's, else `write_mode`, else (neither
    /// set) upsert when the stream has a key and the typed layout, append otherwise, so that a
    /// sync with the defaults can be run again without failing on, or duplicating, keyed rows.
    func mode(of schema: StreamSchema, configured: ConfiguredStream?) -> WriteMode {
        if let configured, configured.writeMode != .unspecified { return configured.writeMode }
        if let writeMode { return writeMode }
        return tableLayout == "typed" && !key(of: schema, configured: configured).isEmpty ? .upsert : .append
    }

    /// The key columns of a stream: its configured catalog's `key_columns`, else `key_columns`
    /// from the config (by `schema.table`, then `table`), else its primary key.
    func key(of schema: StreamSchema, configured: ConfiguredStream?) -> [String] {
        if let configured, !configured.keyColumns.isEmpty { return configured.keyColumns }
        return keyColumns[ExactName(schema.stream.description)] ?? keyColumns[ExactName(schema.stream.name)] ?? schema.primaryKey
    }

    /// Maps a configured name (or CloudQuery alias) to a write mode.
    static func writeMode(named name: String) -> WriteMode? {
        switch writeModeAliases[name] ?? name {
        case "append": .append
        case "upsert": .upsert
        case "update-only": .updateOnly
        case "mirror": .mirror
        case "replace": .replace
        default: nil
        }
    }

    static var schemaProperties: [String: Any] {
        EmbeddingSettings.schemaProperties.merging([
            "write_mode": ["type": "string", "enum": writeModes + Array(writeModeAliases.keys).sorted(),
                           "description": "Destination: write mode of streams that don't set one: append, upsert, update-only, mirror, replace (overwrite = upsert, overwrite-delete-stale = mirror). Unset: upsert for streams with a key (primary key or key_columns), so a re-run neither fails nor duplicates rows, and append for streams without one (and with table_layout raw)."],
            "key_columns": ["type": "object", "additionalProperties": ["type": "array", "items": ["type": "string"]],
                            "description": "Destination: key columns per table (\"table\" or \"schema.table\") for upsert, update-only and mirror when the stream has no primary key."],
            "table_layout": ["type": "string", "enum": ["typed", "raw"], "default": "typed",
                             "description": "Destination: typed = one column per field; raw = Airbyte's layout: _sluice_raw_id uuid, _sluice_emitted_at timestamptz (the sync's time), _sluice_data jsonb (the record, exact: numbers as JSON numbers, timestamps as ISO 8601 strings in UTC), _sluice_deleted; append or replace only."],
            "batch_timeout": ["type": ["string", "number"], "default": "60s",
                              "description": "Destination: the longest a received row waits before it is flushed (e.g. 60s, 500ms)."],
            "insert_method": ["type": "string", "enum": ["auto", "insert", "copy"], "default": "auto",
                              "description": "Destination: auto = binary COPY for bulk work, multi-row INSERT for small batches; insert; copy."],
            "migrate_mode": ["type": "string", "enum": ["safe", "forced"], "default": "safe",
                             "description": "Destination: safe = only changes that lose nothing (add nullable columns, widen types, drop NOT NULL); forced = drop and recreate tables whose schema changed otherwise."],
            "migrate_cascade": ["type": "boolean", "default": false, "description": "Destination: with forced migration, drop dependent objects too (CASCADE)."],
            "create_performance_indexes": ["type": "boolean", "default": false,
                                           "description": "Destination: create indexes that speed up mirror's stale-row deletion."],
            "metadata_columns": ["type": "boolean", "default": true,
                                 "description": "Destination: add _sluice_synced_at, _sluice_source and, for tables without a primary key, _sluice_row_id (mirror always keeps _sluice_synced_at). Turn off for streams with a column of one of those names or with 1600 columns (PostgreSQL's limit)."],
            "nul_bytes": ["type": "string", "enum": ["strip", "fail"], "default": "strip",
                      "description": "Destination: text values with NUL bytes (which PostgreSQL cannot store): strip them (counted in the summary) or fail the write."],
            "missing_extension_types": ["type": "string", "enum": ["fail", "text"], "default": "fail",
                                        "description": "Destination: a column whose source type belongs to an extension (vector, halfvec, sparsevec, citext, hstore) that the destination database lacks: fail before any data moves, or store its values as text."],
            "deletes": ["type": "string", "enum": ["hard", "soft"], "default": "hard",
                        "description": "Destination, streams read with cdc: hard = a delete (or truncate) at the source deletes the row; soft = it sets the row's _sluice_deleted_at (added to the table) to the time of the write, and a later insert of the key clears it."],
            "user_types": ["type": "string", "enum": UserTypeHandling.allCases.map(\.rawValue), "default": UserTypeHandling.recreate.rawValue,
                           "description": "Destination: columns of a PostgreSQL source's enum, domain or composite type: recreate = create the type in the schema (or check that the one there is compatible) and give the column that type; text = enums and composites as text, domains as their base type."],
            "schema_template": ["type": "string",
                                "description": "Destination: the schema of each stream's table, from the placeholders {namespace} (the stream's namespace, the source schema for a PostgreSQL source; schema for a stream without one) and {name}, e.g. \"{namespace}\" or \"raw_{namespace}\" (created when missing). Unset: every table lands in schema. _sluice_state stays in schema."],
            "table_name_template": ["type": "string", "default": "{name}",
                                    "description": "Destination: the name of each stream's table, from the placeholders {namespace} and {name}, e.g. \"{namespace}_{name}\" so that public.orders and billing.orders land apart. Two streams that would land in one table fail the write before any data moves (TABLE_NAME_COLLISION)."],
            "transaction_scope": ["type": "string", "enum": ["state", "flush"], "default": "state",
                                  "description": "Destination: state = the flushes between two state messages share one transaction per connection, committed when the state is acknowledged, so a failed write leaves nothing committed after the last acknowledged state (an append re-run from it duplicates nothing); flush = every flush commits on its own: rows visible sooner and shorter transactions, but rows flushed after the last acknowledged state stay committed when a write fails."],
        ]) { first, _ in first }
    }
}

/// What the destination does with columns of a source's user-defined types (`user_types`).
enum UserTypeHandling: String, CaseIterable, Sendable {
    /// Create each type in the destination schema, or check the one there is compatible.
    case recreate
    /// Enums and composites as text, domains as their base type.
    case text
}
