import Foundation
import SluiceSDK
import SluiceWire

let testStream = StreamID(namespace: "s", name: "t")
let testSchema = StreamSchema(stream: testStream, columns: [Column(name: "id", type: LogicalType(.int64), nullable: false)], primaryKey: ["id"])

/// A source whose Read sends batches until cancelled, and a destination that acknowledges
/// every state and fails on a batch with a negative id.
struct EchoPlugin: SourcePlugin, DestinationPlugin {
    var info: PluginInfo {
        PluginInfo(name: "echo", version: "1.2.3", roles: [.source, .destination],
                   capabilities: Capabilities(readModes: [.fullRefresh], writeModes: [.append], features: ["cancel"]))
    }

    func spec() -> SpecResponse { SpecResponse(configSchemaJSON: #"{"type":"object"}"#) }

    func check(_ request: CheckRequest, context: CallContext) async -> CheckResponse {
        CheckResponse(checks: [CheckResult(name: "config", passed: request.configJSON == "{}", code: "OK", message: "")])
    }

    func discover(_ request: DiscoverRequest, context: CallContext) async throws -> Catalog {
        Catalog(streams: [StreamDescriptor(schema: testSchema)])
    }

    func read(_ request: ReadRequest, output: ReadOutput) async throws -> Summary {
        try await output.send(testSchema)
        var next: Int64 = 0
        while true {
            var builder = ColumnBuilder(type: LogicalType(.int64))
            for _ in 0..<10 {
                builder.append(int64: next)
                next += 1
            }
            try await output.send(RecordBatch(stream: testStream, rowCount: 10, columns: [builder.finish()]))
            if request.states.isEmpty { continue }
            var summary = StreamSummary(stream: testStream)
            summary.records = UInt64(next)
            return Summary(streams: [summary], durationMicros: 1)
        }
    }

    func write(_ request: WriteRequest, input: WriteInput, output: WriteOutput) async throws -> Summary {
        var summary = StreamSummary(stream: testStream)
        for try await event in input {
            switch event {
            case .records(let batch):
                for row in batch.rows(schema: testSchema) where row[0] == .int64(-1) {
                    throw PluginError(category: .data, code: "NEGATIVE_ID", message: "negative id", stream: testStream)
                }
                summary.records += UInt64(batch.rowCount)
            case .state(let state):
                try await output.acknowledge(state)
            case .schema:
                break
            }
        }
        return Summary(streams: [summary], durationMicros: 1)
    }
}

func batch(_ ids: [Int64]) -> RecordBatch {
    var builder = ColumnBuilder(type: LogicalType(.int64))
    for id in ids { builder.append(int64: id) }
    return RecordBatch(stream: testStream, rowCount: ids.count, columns: [builder.finish()])
}

let writeRequest = WriteRequest(configJSON: "{}", catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: testSchema, writeMode: .append)]))
