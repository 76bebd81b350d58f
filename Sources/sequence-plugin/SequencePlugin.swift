import Foundation
import SluiceSDK
import SluiceWire

/// An example source written with the SDK: one stream, `numbers`, of `rows` generated rows
/// (`id` int64, `label` string, `at` timestamptz). Incremental reads resume after the last id
/// in the state. It shows the whole plugin side of the protocol in one small file.
struct SequencePlugin: SourcePlugin {
    static let stream = StreamID(namespace: "example", name: "numbers")
    static let schema = StreamSchema(stream: stream, columns: [
        Column(name: "id", type: LogicalType(.int64), nullable: false, sourceType: "bigint"),
        Column(name: "label", type: LogicalType(.string), nullable: false, sourceType: "text"),
        Column(name: "at", type: LogicalType(.timestamptz), nullable: true, sourceType: "timestamptz"),
    ], primaryKey: ["id"])

    var info: PluginInfo {
        PluginInfo(name: "sequence-plugin", version: "1.0.0", roles: [.source],
                   capabilities: Capabilities(readModes: [.fullRefresh, .incremental], features: [Feature.cancel]))
    }

    func spec() -> SpecResponse {
        SpecResponse(configSchemaJSON: """
            {"type": "object", "additionalProperties": false, "properties": {
              "rows": {"type": "integer", "minimum": 0, "default": 1000, "description": "Rows to generate."},
              "batch_size": {"type": "integer", "minimum": 1, "default": 100, "description": "Rows per batch."}}}
            """)
    }

    func check(_ request: CheckRequest, context: CallContext) async -> CheckResponse {
        do {
            _ = try Settings(request.configJSON)
            return CheckResponse(checks: [CheckResult(name: "config", passed: true, code: "OK", message: "valid")])
        } catch {
            return CheckResponse(checks: [CheckResult(name: "config", passed: false, code: error.code, message: error.message)])
        }
    }

    func discover(_ request: DiscoverRequest, context: CallContext) async throws -> Catalog {
        _ = try Settings(request.configJSON)
        return Catalog(streams: [StreamDescriptor(schema: Self.schema, cursorCandidates: ["id"], syncModes: [.fullRefresh, .incremental])])
    }

    func read(_ request: ReadRequest, output: ReadOutput) async throws -> Summary {
        let started = Date()
        let settings = try Settings(request.configJSON)
        let configured = request.catalog.streams.first
        let incremental = configured?.syncMode == .incremental
        var next = incremental ? (request.states.last.flatMap { Int64(String(decoding: $0.data, as: UTF8.self)) } ?? 0) + 1 : 1
        // `limit` (0: none) caps the rows of this call; `selected_columns` picks and orders columns.
        let last = configured.map { $0.limit == 0 ? settings.rows : min(settings.rows, next - 1 + Int64($0.limit)) } ?? settings.rows
        let names = configured?.selectedColumns.isEmpty == false ? configured!.selectedColumns : Self.schema.columns.map(\.name)
        if let unknown = names.first(where: { name in !Self.schema.columns.contains { $0.name == name } }) {
            throw PluginError(category: .config, code: "UNKNOWN_COLUMN", message: "\(Self.stream) has no column \"\(unknown)\"", stream: Self.stream)
        }
        var schema = Self.schema
        schema.columns = names.compactMap { name in Self.schema.columns.first { $0.name == name } }
        if !names.contains("id") { schema.primaryKey = [] }
        // A stray print: the SDK moved stdout to stderr, so this cannot corrupt the frames.
        print("sequence-plugin: reading from id \(next)")
        try await output.send(schema)
        try await output.status(StreamStatus(stream: Self.stream, status: .started))
        var summary = StreamSummary(stream: Self.stream)
        while next <= last {
            let count = Int(min(Int64(settings.batchSize), last - next + 1))
            var columns: [String: ColumnBuilder] = [
                "id": ColumnBuilder(type: LogicalType(.int64), capacity: count),
                "label": ColumnBuilder(type: LogicalType(.string), capacity: count),
                "at": ColumnBuilder(type: LogicalType(.timestamptz), capacity: count),
            ]
            for id in next..<next + Int64(count) {
                columns["id"]!.append(int64: id)
                columns["label"]!.append(string: "row \(id)")
                if id % 10 == 0 { columns["at"]!.appendNull() } else { columns["at"]!.append(int64: 1_700_000_000_000_000 + id * 1_000_000) }
            }
            try await output.send(RecordBatch(stream: Self.stream, rowCount: count, columns: names.map { columns[$0]!.finish() }))
            next += Int64(count)
            summary.records += UInt64(count)
            // The last state says so: a host can then record the stream whole with it (PROTOCOL.md §4.4 rule 3).
            try await output.checkpoint(State(id: summary.records, stream: Self.stream, data: Array(String(next - 1).utf8),
                                              streamComplete: next > last))
        }
        try await output.status(StreamStatus(stream: Self.stream, status: .complete))
        return Summary(streams: [summary], durationMicros: UInt64(Date().timeIntervalSince(started) * 1_000_000))
    }
}

/// The example's configuration.
private struct Settings {
    var rows: Int64 = 1000
    var batchSize = 100

    init(_ json: String) throws(PluginError) {
        guard !json.isEmpty else { return }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            throw PluginError(category: .config, code: "INVALID_CONFIG", message: "the configuration must be a JSON object")
        }
        if let rows = object["rows"] as? Int, rows >= 0 { self.rows = Int64(rows) }
        if let size = object["batch_size"] as? Int, size > 0 { batchSize = size }
    }
}

/// `sequence-plugin`: serves the example source on stdin/stdout.
@main
struct SequencePluginMain {
    static func main() async {
        await PluginMain.run(SequencePlugin())
    }
}
