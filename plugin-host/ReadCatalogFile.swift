import SluiceWire

/// The streams to read: from a catalog file matched against the discovered catalog, or every
/// readable stream in full refresh.
///
/// File format: `{"streams": [{"namespace", "name", "columns": [names]?, "sync_mode":
/// "full_refresh"|"incremental", "cursor", "filter", "limit"}]}`.
enum ReadCatalogFile {
    /// Every readable stream of `catalog`, full refresh, all columns.
    static func everything(in catalog: Catalog) -> ConfiguredCatalog {
        ConfiguredCatalog(streams: catalog.streams.filter(\.readable).map { ConfiguredStream(schema: $0.schema, syncMode: .fullRefresh) })
    }

    /// The streams the file at `path` selects, each checked against `catalog`.
    static func load(_ path: String, against catalog: Catalog) throws -> ConfiguredCatalog {
        let root = JSONFields(value: try JSONFields.load(path, what: "catalog"), path: .root)
        var problems: [String] = []
        var streams: [ConfiguredStream] = []
        for entry in root.objects("streams", required: true, &problems) {
            if let stream = configured(entry, catalog: catalog, &problems) { streams.append(stream) }
        }
        guard problems.isEmpty else { throw HostFailure.config("the catalog \(path) is invalid:", problems) }
        return ConfiguredCatalog(streams: streams)
    }

    private static func configured(_ entry: JSONFields, catalog: Catalog, _ problems: inout [String]) -> ConfiguredStream? {
        guard let name = entry.requiredString("name", &problems) else { return nil }
        let namespace = entry.string("namespace", &problems)
        let candidates = catalog.streams.filter { $0.schema.stream.name == name && (namespace == nil || $0.schema.stream.namespace == namespace) }
        let id = StreamID(namespace: namespace ?? "", name: name)
        guard candidates.count == 1, let descriptor = candidates.first else {
            problems.append(candidates.isEmpty ? "\(entry.path): the source has no stream \(id) (see plugin-host discover)"
                                               : "\(entry.path): \(name) is ambiguous; give its namespace")
            return nil
        }
        if !descriptor.readable {
            problems.append("\(entry.path): stream \(descriptor.schema.stream) is not readable\(descriptor.remedy.isEmpty ? "" : ": \(descriptor.remedy)")")
        }
        let known = Set(descriptor.schema.columns.map(\.name))
        let columns = entry.strings("columns", &problems)
        for column in columns where !known.contains(column) {
            problems.append("\(entry.path.appending(key: "columns")): stream \(descriptor.schema.stream) has no column \"\(column)\"")
        }
        var syncMode = SyncMode.fullRefresh
        if let modeName = entry.string("sync_mode", &problems) {
            if let mode = ProtocolNames.syncMode(named: modeName) {
                syncMode = mode
            } else {
                problems.append("\(entry.path.appending(key: "sync_mode")): must be full_refresh or incremental")
            }
        }
        let cursor = entry.string("cursor", &problems) ?? ""
        if !cursor.isEmpty, !known.contains(cursor) {
            problems.append("\(entry.path.appending(key: "cursor")): stream \(descriptor.schema.stream) has no column \"\(cursor)\"")
        }
        if syncMode == .incremental, cursor.isEmpty {
            problems.append("\(entry.path): incremental sync needs a \"cursor\" column")
        }
        return ConfiguredStream(schema: descriptor.schema, selectedColumns: columns, syncMode: syncMode, cursorField: cursor,
                                filter: entry.string("filter", &problems) ?? "", limit: entry.unsigned("limit", &problems) ?? 0)
    }
}
