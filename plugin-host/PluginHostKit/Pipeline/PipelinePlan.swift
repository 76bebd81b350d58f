import SluiceWire

/// What `pipeline --dry-run` prints instead of running: every selected stream with how it is
/// read (sync mode, cursor, filter, columns, limit, where it would resume from the state file)
/// and how each destination is asked to write it (write mode, key), the streams skipped, and
/// the pipeline's id. Lines for people go to stderr, the JSON to stdout.
///
/// Which table each stream lands in and whether it would be created or migrated is the
/// destination's decision: a destination with the `plan_write` feature is asked (PlanWrite,
/// PROTOCOL.md §4.8) and its answer is shown; for another, the plan says it is unknown.
struct PipelinePlan {
    let pipelineID: String
    let selection: ConfiguredCatalog
    let writeCatalogs: [ConfiguredCatalog]
    let destinations: [PluginSession]
    /// Per destination, its PlanWrite answer; nil when it cannot plan.
    let tables: [[TablePlan]?]
    let resume: ResumePoints
    let skipped: [SkippedStream]

    func print() {
        Diagnostics.line("pipeline \(pipelineID): dry run: \(selection.streams.count) stream(s) would be read; nothing is read or written")
        for (index, stream) in selection.streams.enumerated() {
            let id = stream.schema.stream
            var read = ProtocolNames.label(stream.syncMode)
            if !stream.cursorField.isEmpty { read += " on \(stream.cursorField)" }
            if stream.limit > 0 { read += ", limit \(stream.limit)" }
            if !stream.filter.isEmpty { read += ", filtered" }
            let writes = destinations.indices.map { at in
                let written = writeCatalogs[at].streams[index]
                var text = "\(destinations[at].launch.label ?? "destination"): \(ProtocolNames.label(written.writeMode))\(Self.keyText(written))"
                if let table = table(at, id) {
                    text += " into \(table.target) (\(table.action)\(table.statements.isEmpty ? "" : ", \(table.statements.count) statements"))"
                    if table.action == TablePlan.Action.refuse.rawValue { text += ": \(table.detail)" }
                }
                return text
            }
            Diagnostics.line("plan \(id): \(read), from \(resume.origin(of: id).rawValue); " + writes.joined(separator: "; "))
        }
        for stream in skipped { Diagnostics.line("plan: skipped \(stream.line)") }
        Diagnostics.output(JSONWriter.pretty(json))
    }

    var json: JSONValue {
        .object([
            ("dry_run", .bool(true)),
            ("pipeline_id", .string(pipelineID)),
            ("streams", .array(selection.streams.enumerated().map { index, stream in
                .object([
                    ("stream", .string(stream.schema.stream.description)),
                    ("sync_mode", .string(ProtocolNames.label(stream.syncMode))),
                    ("cursor", stream.cursorField.isEmpty ? .null : .string(stream.cursorField)),
                    ("filter", stream.filter.isEmpty ? .null : .string(stream.filter)),
                    ("limit", stream.limit == 0 ? .null : .integer(stream.limit)),
                    ("columns", .array((writeCatalogs.first?.streams[index].schema.columns ?? stream.schema.columns).map { .string($0.name) })),
                    ("resume_from", .string(resume.origin(of: stream.schema.stream).rawValue)),
                    ("destinations", .array(destinations.indices.map { at in
                        let written = writeCatalogs[at].streams[index]
                        let key = written.keyColumns.isEmpty ? written.schema.primaryKey : written.keyColumns
                        let table = table(at, stream.schema.stream)
                        return .object([
                            ("label", .string(destinations[at].launch.label ?? "destination")),
                            ("write_mode", .string(ProtocolNames.label(written.writeMode))),
                            ("key_columns", .array(key.map(JSONValue.string))),
                            ("target", table.map { .string($0.target) } ?? .null),
                            ("table_action", .string(table?.action ?? "unknown")),
                            ("statements", .array((table?.statements ?? []).map(JSONValue.string))),
                            ("detail", table.map { .string($0.detail) } ?? .string("the destination cannot plan a Write (no plan_write feature)")),
                        ])
                    })),
                ])
            })),
            ("skipped", .array(skipped.map { .object([("stream", .string($0.stream.description)), ("remedy", .string($0.remedy))]) })),
        ])
    }

    /// Destination `index`'s plan of `stream`'s table, if it gave one.
    private func table(_ index: Int, _ stream: StreamID) -> TablePlan? {
        tables[index]?.first { $0.stream == stream }
    }

    private static func keyText(_ stream: ConfiguredStream) -> String {
        let key = stream.keyColumns.isEmpty ? stream.schema.primaryKey : stream.keyColumns
        return key.isEmpty ? "" : " by (\(key.joined(separator: ", ")))"
    }
}
