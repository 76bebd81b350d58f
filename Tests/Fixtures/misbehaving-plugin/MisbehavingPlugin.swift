import Foundation
import SluiceSDK
import SluiceWire

/// A test fixture: a source that breaks the protocol in the way its configuration's `fault`
/// names, so the tests can check that hosts catch it.
/// - `invalid-batch`: a valid batch of 10 rows and a State, then a batch whose column does not
///   match the schema (text where the schema says int64).
/// - `batch-before-schema`: a batch of a stream whose StreamSchema was never sent.
/// - `deletes`: no fault: rows 1 to 10, then a batch whose rows 3 and 4 are deletes (§5.9), for
///   the hosts' handling of row operations.
/// - `cdc`: no fault, a change stream (§8.2): rows 1 to 10, global State 1, then TRUNCATE and
///   rows 20 and 21, global State 2; it logs each ReadAck it gets (feature `read_acks`) and
///   ends once State 2 is acknowledged (a host that never acknowledges it waits forever). With
///   `follow: true` (plugin-host's `--follow`) it logs "following" first; given a global state,
///   it logs "resuming from" and the state's data.
/// - `dies-after-last-state`: rows 1 to 10 and their State marked `stream_complete`, then the
///   process exits before the stream's COMPLETE and the Summary (a source killed there).
/// - `after-last-state`: rows 1 to 10, their State marked `stream_complete`, then one more row
///   of the stream (a violation of §4.4 rule 3).
/// - `postgres-rows`: rows 1 to 10, a State, then row 11 as a PostgreSQL row (§5.12), which no
///   host allowed.
struct MisbehavingPlugin: SourcePlugin {
    static let stream = StreamID(namespace: "fixture", name: "numbers")
    static let schema = StreamSchema(stream: stream, columns: [Column(name: "id", type: LogicalType(.int64), nullable: false)],
                                     primaryKey: ["id"])

    var info: PluginInfo {
        PluginInfo(name: "misbehaving-plugin", version: "1.0.0", roles: [.source],
                   capabilities: Capabilities(readModes: [.fullRefresh, .cdc], features: [Feature.readAcks]))
    }

    func spec() -> SpecResponse {
        SpecResponse(configSchemaJSON: #"{"type": "object", "properties": {"fault": {"type": "string", "enum": ["invalid-batch", "batch-before-schema", "deletes", "cdc", "dies-after-last-state", "after-last-state", "postgres-rows"]}, "follow": {"type": "boolean"}}}"#)
    }

    func check(_ request: CheckRequest, context: CallContext) async -> CheckResponse {
        CheckResponse(checks: [CheckResult(name: "config", passed: true, code: "OK", message: "a test fixture")])
    }

    func discover(_ request: DiscoverRequest, context: CallContext) async throws -> Catalog {
        Catalog(streams: [StreamDescriptor(schema: Self.schema, syncModes: [.fullRefresh, .cdc])])
    }

    func read(_ request: ReadRequest, output: ReadOutput) async throws -> Summary {
        let config = (try? JSONSerialization.jsonObject(with: Data(request.configJSON.utf8))) as? [String: Any]
        let fault = config?["fault"] as? String
        if config?["follow"] as? Bool == true { output.context.logger.info("following") }
        if fault == "batch-before-schema" {
            try await output.send(try Self.numbers(1...10))
            return Summary(streams: [], durationMicros: 0)
        }
        try await output.send(Self.schema)
        if fault == "cdc" {
            if let global = request.states.first(where: { $0.stream == nil }) {
                output.context.logger.info("resuming from \(String(decoding: global.data, as: UTF8.self))")
            }
            return try await changes(output)
        }
        try await output.send(try Self.numbers(1...10))
        let last = fault == "dies-after-last-state" || fault == "after-last-state"
        try await output.checkpoint(State(id: 1, stream: Self.stream, data: Array("10".utf8), streamComplete: last))
        if fault == "dies-after-last-state" { exit(3) }
        if fault == "postgres-rows" {
            let row: [UInt8] = [0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 11]
            try await output.send(RecordBatch(stream: Self.stream, rowCount: 1, columns: [], postgresRows: row))
            return Summary(streams: [StreamSummary(stream: Self.stream)], durationMicros: 0)
        }
        if fault == "after-last-state" {
            try await output.send(try Self.numbers(11...11))
            return Summary(streams: [StreamSummary(stream: Self.stream)], durationMicros: 0)
        }
        if fault == "deletes" {
            var deletes = try Self.numbers(3...4)
            deletes.operations = [RowOperation.delete.rawValue, RowOperation.delete.rawValue]
            try await output.send(deletes)
            return Summary(streams: [StreamSummary(stream: Self.stream)], durationMicros: 0)
        }
        var text = ColumnBuilder(type: LogicalType(.string), capacity: 1)
        text.append(string: "eleven")
        try await output.send(RecordBatch(stream: Self.stream, rowCount: 1, columns: [text.finish()]))
        return Summary(streams: [], durationMicros: 0)
    }

    private func changes(_ output: ReadOutput) async throws -> Summary {
        var acks = output.acknowledgements.updates.makeAsyncIterator()
        try await output.send(try Self.numbers(1...10))
        try await output.checkpoint(State(id: 1, stream: nil, data: Array("lsn 1".utf8)))
        var truncated = try RecordBatch(schema: Self.schema, rows: [[.null], [.int64(20)], [.int64(21)]])
        truncated.operations = [RowOperation.truncate.rawValue, RowOperation.upsert.rawValue, RowOperation.upsert.rawValue]
        try await output.send(truncated)
        try await output.checkpoint(State(id: 2, stream: nil, data: Array("lsn 2".utf8)))
        while let id = await acks.next() {
            output.context.logger.info("ReadAck \(id)")
            if id == 2 { break }
        }
        return Summary(streams: [StreamSummary(stream: Self.stream)], durationMicros: 0)
    }

    private static func numbers(_ ids: ClosedRange<Int64>) throws -> RecordBatch {
        try RecordBatch(schema: schema, rows: ids.map { [.int64($0)] })
    }
}

/// `misbehaving-plugin`: serves the fixture on stdin/stdout.
@main
struct MisbehavingPluginMain {
    static func main() async {
        await PluginMain.run(MisbehavingPlugin())
    }
}
