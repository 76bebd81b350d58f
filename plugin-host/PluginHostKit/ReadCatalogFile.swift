import SluiceWire

/// The streams to read: from a catalog file matched against the discovered catalog, or every
/// readable stream in full refresh.
///
/// File format: `{"streams": [{"namespace", "name", "columns": [names]?, "sync_mode":
/// "full_refresh"|"incremental"|"cdc", "cursor", "filter", "limit"}]}`; for a pipeline, each stream
/// may also set its destinations' `"write_mode"` and `"key_columns"`. Instead of `namespace` and
/// `name`, an entry may give `"match"`, a glob (``StreamGlob``) selecting every discovered stream
/// it matches that no `name` entry lists, with the entry's settings. Any other key is rejected
/// with its path.
enum ReadCatalogFile {
    /// What reads the file: `plugin-host read`, or a pipeline (whose streams also go to destinations).
    enum Use {
        case read
        case pipeline
    }

    private static let readKeys = ["namespace", "name", "match", "columns", "sync_mode", "cursor", "filter", "limit"]
    private static let writeKeys = ["write_mode", "key_columns"]

    /// Every readable stream of `catalog`, full refresh, all columns.
    static func everything(in catalog: Catalog) -> ConfiguredCatalog {
        ConfiguredCatalog(streams: catalog.streams.filter(\.readable).map { ConfiguredStream(schema: $0.schema, syncMode: .fullRefresh) })
    }

    /// Where a catalog comes from: a JSON file, or an object inlined in a pipeline file.
    enum Source {
        case file(String)
        /// `path`: where the object is in the file (problems are reported from there).
        case inline(JSONValue, origin: String, path: JSONPath)
    }

    /// What a catalog selects: its streams, and the streams its `match` globs matched that the
    /// source cannot read (left out).
    struct Selection {
        var catalog: ConfiguredCatalog
        var unreadable: [SkippedStream]
    }

    /// The streams `source` selects, each checked against `catalog`, and the unreadable ones its
    /// globs matched. With `.pipeline`, a stream's `write_mode` and `key_columns` are kept in its
    /// ``ConfiguredStream`` for the destinations (``Pipeline/writeCatalog(_:mode:destination:)``).
    static func selection(_ source: Source, against catalog: Catalog, for use: Use) throws -> Selection {
        let root: JSONFields, origin: String
        switch source {
        case .file(let path):
            root = JSONFields(value: try JSONFields.load(path, what: "catalog"), path: .root)
            origin = path
        case .inline(let value, let inlined, let path):
            root = JSONFields(value: value, path: path)
            origin = inlined
        }
        guard case .object = root.value else { throw HostFailure(ExitCodes.config, "the catalog \(origin) is invalid: expected an object with streams") }
        var problems: [String] = []
        root.rejectUnknownKeys(allowed: ["streams"], &problems)
        var streams: [ConfiguredStream] = []
        var globs: [(entry: JSONFields, glob: StreamGlob)] = []
        for entry in root.objects("streams", required: true, &problems) {
            entry.rejectUnknownKeys(allowed: use == .pipeline ? readKeys + writeKeys : readKeys, &problems)
            if let pattern = entry.string("match", &problems) {
                if entry.value["name"] != nil || entry.value["namespace"] != nil {
                    problems.append("\(entry.path): give either match or name (with namespace), not both")
                } else if pattern.isEmpty {
                    problems.append("\(entry.path.appending(key: "match")): must not be empty")
                } else {
                    globs.append((entry, StreamGlob(pattern)))
                }
                continue
            }
            if let descriptor = named(entry, catalog: catalog, &problems),
               let stream = configured(entry, descriptor, &problems) { streams.append(stream) }
        }
        var seen = Set<StreamID>()
        for stream in streams where !seen.insert(stream.schema.stream).inserted {
            problems.append("\(root.path.appending(key: "streams")): stream \(stream.schema.stream) is listed twice")
        }
        // Each glob takes the streams no earlier entry took; one that matches nothing is a mistake.
        var unreadable: [SkippedStream] = []
        for (entry, glob) in globs {
            let matched = catalog.streams.filter { glob.matches($0.schema.stream) && !seen.contains($0.schema.stream) }
            if matched.isEmpty {
                problems.append("\(entry.path.appending(key: "match")): matches no stream the source has that no earlier entry took (see plugin-host discover)")
            }
            for descriptor in matched {
                seen.insert(descriptor.schema.stream)
                guard descriptor.readable else {
                    unreadable.append(SkippedStream(stream: descriptor.schema.stream, remedy: descriptor.remedy))
                    continue
                }
                if let stream = configured(entry, descriptor, &problems) { streams.append(stream) }
            }
        }
        guard problems.isEmpty else { throw HostFailure.config("the catalog \(origin) is invalid:", problems) }
        return Selection(catalog: ConfiguredCatalog(streams: streams), unreadable: unreadable)
    }

    /// The discovered stream an entry names with `name` (and `namespace`).
    private static func named(_ entry: JSONFields, catalog: Catalog, _ problems: inout [String]) -> StreamDescriptor? {
        guard let name = entry.requiredString("name", &problems) else { return nil }
        let namespace = entry.string("namespace", &problems)
        let candidates = catalog.streams.filter { $0.schema.stream.name == name && (namespace == nil || $0.schema.stream.namespace == namespace) }
        let id = StreamID(namespace: namespace ?? "", name: name)
        guard candidates.count == 1, let descriptor = candidates.first else {
            problems.append(candidates.isEmpty ? "\(entry.path): the source has no stream \(id) (see plugin-host discover)"
                                               : "\(entry.path): \(name) is ambiguous; give its namespace")
            return nil
        }
        return descriptor
    }

    /// `descriptor` configured with the settings of `entry`.
    private static func configured(_ entry: JSONFields, _ descriptor: StreamDescriptor, _ problems: inout [String]) -> ConfiguredStream? {
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
                problems.append("\(entry.path.appending(key: "sync_mode")): must be full_refresh, incremental or cdc")
            }
        }
        let cursor = entry.string("cursor", &problems) ?? ""
        if !cursor.isEmpty, !known.contains(cursor) {
            problems.append("\(entry.path.appending(key: "cursor")): stream \(descriptor.schema.stream) has no column \"\(cursor)\"")
        }
        if syncMode == .incremental, cursor.isEmpty {
            problems.append("\(entry.path): incremental sync needs a \"cursor\" column")
        }
        var writeMode = WriteMode.unspecified
        if let modeName = entry.string("write_mode", &problems) {
            if let mode = ProtocolNames.writeMode(named: modeName), mode != .unspecified {
                writeMode = mode
            } else {
                problems.append("\(entry.path.appending(key: "write_mode")): must be one of append, upsert, update-only, mirror, replace")
            }
        }
        let keyColumns = entry.strings("key_columns", &problems)
        let written = columns.isEmpty ? known : Set(columns)
        for key in keyColumns where !written.contains(key) {
            problems.append("\(entry.path.appending(key: "key_columns")): \"\(key)\" is not a \(columns.isEmpty ? "column" : "selected column") of stream \(descriptor.schema.stream)")
        }
        return ConfiguredStream(schema: descriptor.schema, selectedColumns: columns, syncMode: syncMode, cursorField: cursor,
                                filter: entry.string("filter", &problems) ?? "", limit: entry.unsigned("limit", &problems) ?? 0,
                                writeMode: writeMode, keyColumns: keyColumns)
    }
}
