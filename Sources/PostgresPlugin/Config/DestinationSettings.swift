import SluiceWire

/// Settings of the destination role (Write).
struct DestinationSettings: Sendable {
    /// The write mode of streams whose configured catalog leaves it unspecified; nil when
    /// `write_mode` is not set (see ``mode(of:configured:)``).
    var writeMode: WriteMode?
    /// Key columns per stream name (`table` or `schema.table`, byte for byte), for streams
    /// without a primary key.
    var keyColumns: [ExactName: [String]]
    var tableLayout: TableLayout
    /// Seconds a received row may wait before it is flushed.
    var batchTimeout: Double
    var insertMethod: InsertMethod
    /// Whether streams may arrive as PostgreSQL rows (`postgres_rows`, PROTOCOL.md §5.12).
    var postgresRows: Bool
    var migrateMode: MigrateMode
    /// With `forced`: drop dependent objects too (DROP … CASCADE).
    var migrateCascade: Bool
    var createPerformanceIndexes: Bool
    /// A table the Write creates gets its primary key once its rows are in (upsert and mirror:
    /// or when a flush first needs it), not row by row (`primary_key_after_load`).
    var primaryKeyAfterLoad: Bool
    /// Adds `_sluice_synced_at`, `_sluice_source` and, without a primary key, `_sluice_row_id`.
    var metadataColumns: Bool
    var nulBytes: NulBytes
    var missingExtensionTypes: MissingExtensionTypes
    /// Columns of a source's user-defined enum, domain or composite type.
    var userTypes: UserTypeHandling
    var transactionScope: TransactionScope
    /// pgvector embedding tables, when configured.
    var embeddings: EmbeddingSettings?
    /// What a CDC stream's delete does.
    var deletes: DeleteMode
    /// The schema of each stream's table (`{namespace}`, `{name}`); nil: `schema`.
    var schemaTemplate: String?
    /// The name of each stream's table (`{namespace}`, `{name}`); default `{name}`.
    var tableNameTemplate: String

    /// `write_mode`'s names (CloudQuery's `overwrite` and `overwrite-delete-stale` are aliases).
    enum WriteModeName: String, SettingChoice {
        case append, upsert, updateOnly = "update-only", mirror, replace

        var mode: WriteMode {
            switch self {
            case .append: .append
            case .upsert: .upsert
            case .updateOnly: .updateOnly
            case .mirror: .mirror
            case .replace: .replace
            }
        }
    }

    /// `table_layout`'s names.
    enum TableLayout: String, SettingChoice {
        /// One column per field.
        case typed
        /// Airbyte's: id uuid, emitted-at timestamptz, data jsonb.
        case raw
    }

    /// `insert_method`'s names.
    enum InsertMethod: String, SettingChoice {
        /// Binary COPY for bulk work, multi-row INSERT for small batches.
        case auto
        /// Multi-row parameterised INSERT.
        case insert
        /// Binary COPY.
        case copy
    }

    /// `migrate_mode`'s names.
    enum MigrateMode: String, SettingChoice {
        /// Only changes that lose nothing.
        case safe
        /// Drop and recreate tables whose schema changed otherwise.
        case forced
    }

    /// `nul_bytes`'s names: what text values with NUL bytes get.
    enum NulBytes: String, SettingChoice {
        /// Removed, and counted in the summary.
        case strip
        /// The write fails.
        case fail
    }

    /// `missing_extension_types`'s names: columns of an extension type the database lacks.
    enum MissingExtensionTypes: String, SettingChoice {
        case fail
        /// Stored as text.
        case text
    }

    /// `transaction_scope`'s names.
    enum TransactionScope: String, SettingChoice {
        /// Flushes between two states share one transaction per connection, committed at the state.
        case state
        /// Every flush commits on its own.
        case flush
    }

    /// `deletes`'s names: what a CDC stream's delete (or truncate) does.
    enum DeleteMode: String, SettingChoice {
        /// Deletes the row.
        case hard
        /// Sets the row's `_sluice_deleted_at`.
        case soft
    }

    static let writeModeSetting = Setting<WriteModeName?>.choice(
        "write_mode", shownDefault: nil, aliases: ["overwrite": .upsert, "overwrite-delete-stale": .mirror],
        "Destination: write mode of streams that don't set one: append, upsert, update-only, mirror, replace (overwrite = upsert, overwrite-delete-stale = mirror). Unset: upsert for streams with a key (primary key or key_columns), so a re-run neither fails nor duplicates rows, and append for streams without one (and with table_layout raw).")
    static let keyColumnsSetting = Setting<[String: [String]]>.stringLists(
        "key_columns",
        "Destination: key columns per table (\"table\" or \"schema.table\") for upsert, update-only and mirror when the stream has no primary key.")
    static let tableLayoutSetting = Setting<TableLayout>.choice(
        "table_layout", default: .typed,
        "Destination: typed = one column per field; raw = Airbyte's layout: _sluice_raw_id uuid, _sluice_emitted_at timestamptz (the sync's time), _sluice_data jsonb (the record, exact: numbers as JSON numbers, timestamps as ISO 8601 strings in UTC), _sluice_deleted; append or replace only.")
    static let batchTimeoutSetting = Setting<Double>.duration(
        "batch_timeout", default: 60,
        "Destination: the longest a received row waits before it is flushed (e.g. 60s, 500ms).")
    static let insertMethodSetting = Setting<InsertMethod>.choice(
        "insert_method", default: .auto,
        "Destination: auto = binary COPY for bulk work, multi-row INSERT for small batches; insert; copy.")
    static let migrateModeSetting = Setting<MigrateMode>.choice(
        "migrate_mode", default: .safe,
        "Destination: safe = only changes that lose nothing (add nullable columns, widen types, drop NOT NULL); forced = drop and recreate tables whose schema changed otherwise.")
    static let migrateCascadeSetting = Setting<Bool>.bool(
        "migrate_cascade", default: false, "Destination: with forced migration, drop dependent objects too (CASCADE).")
    static let createPerformanceIndexesSetting = Setting<Bool>.bool(
        "create_performance_indexes", default: false, "Destination: create indexes that speed up mirror's stale-row deletion.")
    static let primaryKeyAfterLoadSetting = Setting<Bool>.bool(
        "primary_key_after_load", default: true,
        "Destination: a table the write creates (typed layout, a stream not read with cdc, no embeddings; for upsert and mirror, keyed by its primary key) gets its primary key when its rows are loaded, which is faster than keeping the index up to date row by row; upsert and mirror build it sooner, before the first batch whose keys do not rise above every key already written. The key columns are NOT NULL from the start; rows that repeat a key fail the write (KEY_NOT_UNIQUE). false: the key is created with the table.")
    static let postgresRowsSetting = Setting<Bool>.bool(
        "postgres_rows", default: true,
        "Destination: take the streams of a PostgreSQL source whose columns have exactly the source's types as PostgreSQL rows, the source server's binary COPY tuples, which this server parses as they are (PROTOCOL.md section 5.12); off = every batch as column vectors, which the source decodes and this plugin encodes again (slower; the same values arrive). insert_method: insert also keeps them to column vectors.")
    static let metadataColumnsSetting = Setting<Bool>.bool(
        "metadata_columns", default: true,
        "Destination: add _sluice_synced_at, _sluice_source and, for tables without a primary key, _sluice_row_id (mirror always keeps _sluice_synced_at). Turn off for streams with a column of one of those names or with 1600 columns (PostgreSQL's limit).")
    static let nulBytesSetting = Setting<NulBytes>.choice(
        "nul_bytes", default: .strip,
        "Destination: text values with NUL bytes (which PostgreSQL cannot store): strip them (counted in the summary) or fail the write.")
    static let missingExtensionTypesSetting = Setting<MissingExtensionTypes>.choice(
        "missing_extension_types", default: .fail,
        "Destination: a column whose source type belongs to an extension (vector, halfvec, sparsevec, citext, hstore) that the destination database lacks: fail before any data moves, or store its values as text.")
    static let userTypesSetting = Setting<UserTypeHandling>.choice(
        "user_types", default: .recreate,
        "Destination: columns of a PostgreSQL source's enum, domain or composite type: recreate = create the type in the schema (or check that the one there is compatible) and give the column that type; text = enums and composites as text, domains as their base type.")
    static let transactionScopeSetting = Setting<TransactionScope>.choice(
        "transaction_scope", default: .state,
        "Destination: state = the flushes between two state messages share one transaction per connection, committed when the state is acknowledged, so a failed write leaves nothing committed after the last acknowledged state (an append re-run from it duplicates nothing); flush = every flush commits on its own: rows visible sooner and shorter transactions, but rows flushed after the last acknowledged state stay committed when a write fails.")
    static let deletesSetting = Setting<DeleteMode>.choice(
        "deletes", default: .hard,
        "Destination, streams read with cdc: hard = a delete (or truncate) at the source deletes the row; soft = it sets the row's _sluice_deleted_at (added to the table) to the time of the write, and a later insert of the key clears it.")
    static let schemaTemplateSetting = Setting<String?>.string(
        "schema_template",
        "Destination: the schema of each stream's table, from the placeholders {namespace} (the stream's namespace, the source schema for a PostgreSQL source; schema for a stream without one) and {name}, e.g. \"{namespace}\" or \"raw_{namespace}\" (created when missing). Unset: every table lands in schema. _sluice_state stays in schema.")
    static let tableNameTemplateSetting = Setting<String>.string(
        "table_name_template", default: "{name}",
        "Destination: the name of each stream's table, from the placeholders {namespace} and {name}, e.g. \"{namespace}_{name}\" so that public.orders and billing.orders land apart. Two streams that would land in one table fail the write before any data moves (TABLE_NAME_COLLISION).")

    init(_ reader: inout ConfigReader) {
        writeMode = reader.read(Self.writeModeSetting)?.mode
        keyColumns = Dictionary(reader.read(Self.keyColumnsSetting).map { (ExactName($0.key), $0.value) }) { first, _ in first }
        tableLayout = reader.read(Self.tableLayoutSetting)
        batchTimeout = reader.read(Self.batchTimeoutSetting)
        insertMethod = reader.read(Self.insertMethodSetting)
        postgresRows = reader.read(Self.postgresRowsSetting)
        migrateMode = reader.read(Self.migrateModeSetting)
        migrateCascade = reader.read(Self.migrateCascadeSetting)
        createPerformanceIndexes = reader.read(Self.createPerformanceIndexesSetting)
        primaryKeyAfterLoad = reader.read(Self.primaryKeyAfterLoadSetting)
        metadataColumns = reader.read(Self.metadataColumnsSetting)
        nulBytes = reader.read(Self.nulBytesSetting)
        missingExtensionTypes = reader.read(Self.missingExtensionTypesSetting)
        userTypes = reader.read(Self.userTypesSetting)
        transactionScope = reader.read(Self.transactionScopeSetting)
        embeddings = EmbeddingSettings.read(&reader)
        deletes = reader.read(Self.deletesSetting)
        schemaTemplate = reader.read(Self.schemaTemplateSetting)
        tableNameTemplate = reader.read(Self.tableNameTemplateSetting)
        for (key, template) in [(Self.schemaTemplateSetting.key, schemaTemplate), (Self.tableNameTemplateSetting.key, tableNameTemplate)] {
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
        return tableLayout == .typed && !key(of: schema, configured: configured).isEmpty ? .upsert : .append
    }

    /// The key columns of a stream: its configured catalog's `key_columns`, else `key_columns`
    /// from the config (by `schema.table`, then `table`), else its primary key.
    func key(of schema: StreamSchema, configured: ConfiguredStream?) -> [String] {
        if let configured, !configured.keyColumns.isEmpty { return configured.keyColumns }
        return keyColumns[ExactName(schema.stream.description)] ?? keyColumns[ExactName(schema.stream.name)] ?? schema.primaryKey
    }
}

/// What the destination does with columns of a source's user-defined types (`user_types`).
enum UserTypeHandling: String, SettingChoice {
    /// Create each type in the destination schema, or check the one there is compatible.
    case recreate
    /// Enums and composites as text, domains as their base type.
    case text
}
