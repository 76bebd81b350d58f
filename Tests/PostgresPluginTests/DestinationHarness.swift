import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing

/// What one Write call answered.
struct WriteOutcome {
    var summary: Summary
    var acks: [StateAck]
    /// Every reply before the Summary, in order.
    var messages: [PluginMessage]

    /// The counts of the stream named `name`.
    func stream(_ name: String) -> StreamSummary? { summary.streams.first { $0.stream.name == name } }
}

/// Collects replies from a concurrent reader.
final class ReplyLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [PluginMessage] = []

    func append(_ message: PluginMessage) { lock.withLock { messages.append(message) } }

    var acks: [StateAck] {
        all.compactMap { if case .stateAck(let ack) = $0 { ack } else { nil } }
    }

    var all: [PluginMessage] { lock.withLock { messages } }
}

/// Drives the real `postgres-plugin` binary as a destination over the protocol.
enum DestinationHarness {
    /// A plugin configuration writing to `schema` on the test server, with `overrides`.
    static func config(schema: String, _ overrides: [String: Any] = [:]) -> String {
        SourceHarness.config(["schema": schema].merging(overrides) { $1 })
    }

    /// Starts the plugin, with `environment` instead of the tests' when given.
    static func launch(environment: [String: String]? = nil) async throws -> PluginClient {
        try await PluginClient.launch(executable: Binaries.postgresPlugin, environment: environment,
                                      hello: Hello(hostName: "destination-tests", hostVersion: "1"))
    }

    /// Runs one Write call sending `messages` (WriteEnd is added) and returns its outcome.
    static func write(_ config: String, streams: [ConfiguredStream], _ messages: [HostMessage], sourceName: String = "tests",
                      pipelineID: String = "", environment: [String: String]? = nil) async throws -> WriteOutcome {
        let client = try await launch(environment: environment)
        let log = ReplyLog()
        do {
            let input = AsyncStream<HostMessage> { continuation in
                for message in messages { continuation.yield(message) }
                continuation.finish()
            }
            let summary = try await client.write(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: streams), sourceName: sourceName,
                                                              pipelineID: pipelineID),
                                                 input: input) { log.append($0) }
            await client.close()
            return WriteOutcome(summary: summary, acks: log.acks, messages: log.all)
        } catch {
            await client.close()
            throw error
        }
    }

    /// The stream most destination tests write: `id` int64 primary key, `name` string.
    static let items = schema("items", [
        Column(name: "id", type: LogicalType(.int64), nullable: false),
        Column(name: "name", type: LogicalType(.string)),
    ], primaryKey: ["id"])

    /// A batch of `items` rows for `ids`, each named `n<id>`.
    static func items(_ ids: ClosedRange<Int64>) throws -> HostMessage {
        try batch(items, ids.map { [.int64($0), .string("n\($0)")] })
    }

    /// Batches of at most `size` rows of (`ids`, `name(id)`) for a stream of an int64 and a
    /// string column (`items`, or one shaped like it).
    static func batches(_ stream: StreamSchema, _ ids: ClosedRange<Int64>, size: Int64 = 10_000,
                        name: (Int64) -> String = { "n\($0)" }) throws -> [HostMessage] {
        try stride(from: ids.lowerBound, through: ids.upperBound, by: Int(size)).map { first in
            try batch(stream, (first...min(ids.upperBound, first + size - 1)).map { [.int64($0), .string(name($0))] })
        }
    }

    /// Reads the running call's replies up to the next state acknowledgement.
    static func nextAck(_ client: PluginClient) async throws -> StateAck? {
        while let message = try await client.nextCallMessage() {
            if case .stateAck(let ack) = message { return ack }
        }
        return nil
    }

    /// A stream `name` with `columns` (name, type, nullable) and a primary key.
    static func schema(_ name: String, _ columns: [Column], primaryKey: [String] = []) -> StreamSchema {
        StreamSchema(stream: StreamID(name: name), columns: columns, primaryKey: primaryKey)
    }

    /// A batch of `rows` for `schema`.
    static func batch(_ schema: StreamSchema, _ rows: [[Value]], operations: [RowOperation] = []) throws -> HostMessage {
        var batch = try RecordBatch(schema: schema, rows: rows)
        batch.operations = operations.map(\.rawValue)
        return .records(batch)
    }

    /// The text rendering of `query`'s rows in UTC.
    static func rows(_ connection: PostgresConnection, _ query: String) async throws -> [[String?]] {
        _ = try await connection.execute("SET TimeZone = 'UTC'")
        return try await connection.execute(query).rows
    }

    /// Polls `admin` until the backend of the connection named `application` waits for a lock,
    /// running a query that contains `text` (records an issue after a minute).
    static func waitForLockWait(_ admin: PostgresConnection, application: String, queryContaining text: String = "") async throws {
        let clock = ContinuousClock(), start = clock.now
        while clock.now - start < .seconds(60) {
            let waiting = try await admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND strpos(query, $2) > 0",
                                                  [.text(application), .text(text)]).rows.first?.first ?? nil
            if waiting == "1" { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the connection never waited for the lock")
    }

    /// Runs `body` with a fresh schema name (not created), dropped afterwards.
    static func withSchema<T>(_ body: (String, PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await TestDatabase.connect()
        let schema = "dst_" + UUID().uuidString.prefix(8).lowercased()
        defer { connection.close() }
        do {
            let result = try await body(schema, connection)
            _ = try? await connection.execute("DROP SCHEMA IF EXISTS \(SQL.quoteIdentifier(schema)) CASCADE")
            return result
        } catch {
            _ = try? await connection.execute("DROP SCHEMA IF EXISTS \(SQL.quoteIdentifier(schema)) CASCADE")
            throw error
        }
    }
}
