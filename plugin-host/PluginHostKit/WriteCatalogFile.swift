import SluiceWire

/// The streams of a Write, from a catalog file:
/// `{"streams": [{"namespace", "name", "columns": [{"name", "type", "nullable", "source_type",
/// "precision"?, "scale"?, "max_length"?, "user_type"?, "user_types"?}], "primary_key", "write_mode",
/// "key_columns", "sync_mode"}]}` (user types as ``UserTypeJSON`` reads them). `sync_mode` says how
/// the rows were read (PROTOCOL.md §4.5): `cdc` rows are changes (TRUNCATE rows, unchanged values),
/// written with upsert; `incremental` rows are part of the stream, never written with mirror or
/// replace.
/// The other keys of `plugin-host discover`'s output (``descriptiveKeys``) are accepted, so its
/// catalog can be given as it is, and describe the source only; any other key is rejected with
/// its path.
///
/// Types are `bool`, `int16`, `int32`, `int64`, `float32`, `float64`, `decimal`, `string`,
/// `bytes`, `date`, `time`, `timetz`, `timestamp`, `timestamptz`, `interval`, `uuid`, `json`
/// and `list<element>`; write modes `append`, `upsert`, `update-only`, `mirror`, `replace`.
enum WriteCatalogFile {
    private static let streamKeys = ["namespace", "name", "columns", "primary_key", "write_mode", "key_columns", "sync_mode"]
    /// What `discover` says about a stream beyond its schema; a Write has no use for it.
    private static let descriptiveKeys = ["kind", "unique_keys", "cursor_candidates", "sync_modes", "estimated_rows",
                                          "estimated_bytes", "readable", "remedy"]
    private static let columnKeys = ["name", "type", "nullable", "source_type", "precision", "scale", "max_length", "user_type", "user_types"]

    /// The configured catalog the file describes.
    static func load(_ path: String) throws -> ConfiguredCatalog {
        let root = JSONFields(value: try JSONFields.load(path, what: "catalog"), path: .root)
        var problems: [String] = []
        root.rejectUnknownKeys(allowed: ["streams"], &problems)
        var streams: [ConfiguredStream] = []
        for entry in root.objects("streams", required: true, &problems) {
            entry.rejectUnknownKeys(allowed: streamKeys + descriptiveKeys, &problems)
            if let stream = configured(entry, &problems) { streams.append(stream) }
        }
        var seen = Set<StreamID>()
        for stream in streams where !seen.insert(stream.schema.stream).inserted {
            problems.append("$.streams: stream \(stream.schema.stream) is listed twice")
        }
        if streams.isEmpty, problems.isEmpty { problems.append("$.streams: no streams") }
        guard problems.isEmpty else { throw HostFailure.config("the catalog \(path) is invalid:", problems) }
        return ConfiguredCatalog(streams: streams)
    }

    private static func configured(_ entry: JSONFields, _ problems: inout [String]) -> ConfiguredStream? {
        let name = entry.requiredString("name", &problems)
        let namespace = entry.string("namespace", &problems) ?? ""
        var columns: [Column] = []
        for field in entry.objects("columns", required: true, &problems) {
            if let column = column(field, &problems) { columns.append(column) }
        }
        let names = Set(columns.map(\.name))
        if names.count != columns.count { problems.append("\(entry.path.appending(key: "columns")): column names must be unique") }
        let primaryKey = entry.strings("primary_key", &problems)
        let keyColumns = entry.strings("key_columns", &problems)
        for key in primaryKey + keyColumns where !names.contains(key) {
            problems.append("\(entry.path): key column \"\(key)\" is not one of the stream's columns")
        }
        var writeMode = WriteMode.unspecified
        if let modeName = entry.string("write_mode", &problems) {
            if let mode = ProtocolNames.writeMode(named: modeName) {
                writeMode = mode
            } else {
                problems.append("\(entry.path.appending(key: "write_mode")): must be one of append, upsert, update-only, mirror, replace")
            }
        }
        var syncMode = SyncMode.fullRefresh
        if let modeName = entry.string("sync_mode", &problems) {
            if let mode = ProtocolNames.syncMode(named: modeName) {
                syncMode = mode
            } else {
                problems.append("\(entry.path.appending(key: "sync_mode")): must be full_refresh, incremental or cdc")
            }
        }
        if syncMode == .cdc {
            if writeMode == .unspecified { writeMode = .upsert }
            if writeMode != .upsert { problems.append("\(entry.path.appending(key: "write_mode")): a stream read with cdc is written with upsert") }
        }
        if syncMode == .incremental, writeMode == .mirror || writeMode == .replace {
            problems.append("\(entry.path.appending(key: "write_mode")): a stream read incrementally is not written with mirror or replace, which would drop the rows the read did not send")
        }
        guard let name else { return nil }
        let schema = StreamSchema(stream: StreamID(namespace: namespace, name: name), columns: columns, primaryKey: primaryKey)
        return ConfiguredStream(schema: schema, syncMode: syncMode, writeMode: writeMode, keyColumns: keyColumns)
    }

    private static func column(_ field: JSONFields, _ problems: inout [String]) -> Column? {
        field.rejectUnknownKeys(allowed: columnKeys, &problems)
        let name = field.requiredString("name", &problems)
        guard let typeName = field.requiredString("type", &problems) else { return nil }
        guard var type = ProtocolNames.type(named: typeName) else {
            problems.append("\(field.path.appending(key: "type")): unknown type \"\(typeName)\" (one of \(ProtocolNames.typeNames))")
            return nil
        }
        type.precision = UInt32(clamping: field.unsigned("precision", &problems) ?? 0)
        type.scale = UInt32(clamping: field.unsigned("scale", &problems) ?? 0)
        type.maxLength = UInt32(clamping: field.unsigned("max_length", &problems) ?? 0)
        guard let name else { return nil }
        return Column(name: name, type: type, nullable: field.bool("nullable", &problems) ?? true,
                      sourceType: field.string("source_type", &problems) ?? "",
                      userType: field.object("user_type", &problems).map { UserTypeJSON.reference($0, &problems) },
                      userTypes: field.objects("user_types", required: false, &problems).map { UserTypeJSON.type($0, &problems) })
    }
}
