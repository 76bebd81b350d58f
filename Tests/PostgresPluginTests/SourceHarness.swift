import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing

/// Everything one Read sent, in order.
struct SourceReadResult {
    var schemas: [StreamSchema] = []
    var batches: [RecordBatch] = []
    var states: [State] = []
    var statuses: [StreamStatus] = []
    var summary: Summary?
    /// For each state, how many batches came before it.
    var batchesBeforeState: [Int] = []

    /// Every row of `stream`, decoded with its last schema.
    func rows(_ stream: String) throws -> [[Value]] {
        guard let schema = schemas.last(where: { $0.stream.name == stream }) else { return [] }
        return try batches.filter { $0.stream.name == stream }.flatMap { batch in
            var batch = batch
            try batch.validate(against: schema)
            return batch.rows(schema: schema)
        }
    }

    /// The last state's data as a JSON object.
    var lastStateJSON: [String: Any] { states.last.map(SourceHarness.json) ?? [:] }
}

/// Drives the real `postgres-plugin` binary as a source over the protocol, against the test server.
enum SourceHarness {
    /// A plugin configuration for the test server, with `overrides`. A state follows every
    /// batch (`checkpoint_interval: 0`), small tables included (`resumable_read_min_bytes: 0`),
    /// unless `overrides` say otherwise: the tests resume from states in the middle of small tables.
    static func config(_ overrides: [String: Any] = [:]) -> String {
        let env = ProcessInfo.processInfo.environment
        var object: [String: Any] = [
            "checkpoint_interval": 0,
            "resumable_read_min_bytes": 0,
            "host": env["PGHOST"] ?? "127.0.0.1",
            "port": Int(env["PGPORT"] ?? "5432") ?? 5432,
            "user": env["PGUSER"] ?? "postgres",
            "password": env["PGPASSWORD"] ?? "",
            "database": env["PGDATABASE"] ?? "postgres",
        ]
        object.merge(overrides) { $1 }
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    static func launch() async throws -> PluginClient {
        try await PluginClient.launch(executable: Binaries.postgresPlugin, hello: Hello(hostName: "source-tests", hostVersion: "1"))
    }

    /// Runs `body` with a fresh schema (a unique name, optionally with `suffix`), dropped afterwards.
    static func withSchema<T>(_ suffix: String = "", _ body: (String, PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await TestDatabase.connect()
        let schema = "src_" + UUID().uuidString.prefix(8).lowercased() + suffix
        _ = try await connection.execute("CREATE SCHEMA \(SQL.quoteIdentifier(schema))")
        do {
            let result = try await body(schema, connection)
            _ = try? await connection.execute("DROP SCHEMA \(SQL.quoteIdentifier(schema)) CASCADE")
            connection.close()
            return result
        } catch {
            _ = try? await connection.execute("DROP SCHEMA \(SQL.quoteIdentifier(schema)) CASCADE")
            connection.close()
            throw error
        }
    }

    /// Discovers with `overrides` on the test configuration.
    static func discover(_ overrides: [String: Any]) async throws -> Catalog {
        let client = try await launch()
        defer { Task { await client.close() } }
        return try await client.discover(DiscoverRequest(configJSON: config(overrides)))
    }

    /// A configured stream for `schema.table`.
    static func stream(_ schema: String, _ table: String, columns: [String] = [], mode: SyncMode = .fullRefresh,
                       cursor: String = "", filter: String = "", limit: UInt64 = 0) -> ConfiguredStream {
        ConfiguredStream(schema: StreamSchema(stream: StreamID(namespace: schema, name: table), columns: []),
                         selectedColumns: columns, syncMode: mode, cursorField: cursor, filter: filter, limit: limit)
    }

    /// Reads `streams` to the end; a plugin Error is thrown as HostError.plugin.
    static func read(_ streams: [ConfiguredStream], states: [State] = [], overrides: [String: Any] = [:],
                     client: PluginClient? = nil) async throws -> SourceReadResult {
        let plugin: PluginClient
        if let client { plugin = client } else { plugin = try await launch() }
        defer { if client == nil { Task { await plugin.close() } } }
        try await plugin.startRead(ReadRequest(configJSON: config(overrides), catalog: ConfiguredCatalog(streams: streams), states: states))
        var result = SourceReadResult()
        while let message = try await plugin.nextCallMessage() {
            switch message {
            case .schema(let schema): result.schemas.append(schema)
            case .records(let batch): result.batches.append(batch)
            case .state(let state):
                result.states.append(state)
                result.batchesBeforeState.append(result.batches.count)
            case .streamStatus(let status): result.statuses.append(status)
            case .summary(let summary): result.summary = summary; return result
            default: break
            }
        }
        return result
    }

    /// A state's data as a JSON object.
    static func json(_ state: State) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(state.data)) as? [String: Any]) ?? [:]
    }

    /// Starts reading `stream` and SIGKILLs the plugin once at least `minimumRows` rows are
    /// covered by a checkpoint; returns the rows covered by the last checkpoint and that checkpoint.
    static func readUntilKilled(_ stream: ConfiguredStream, overrides: [String: Any], minimumRows: Int,
                                states: [State] = []) async throws -> ([[Value]], State) {
        let client = try await launch()
        try await client.startRead(ReadRequest(configJSON: config(overrides), catalog: ConfiguredCatalog(streams: [stream]), states: states))
        var sent: [[Value]] = []
        var pending: [[Value]] = []
        var lastState: State?
        var schema: StreamSchema?
        while lastState == nil || sent.count < minimumRows, let message = try await client.nextCallMessage() {
            switch message {
            case .schema(let value): schema = value
            case .records(let batch):
                if let schema { pending += batch.rows(schema: schema) }
            case .state(let state):
                lastState = state
                sent += pending
                pending = []
            default: break
            }
        }
        client.process.send(signal: SIGKILL)
        _ = await client.close(timeout: 5)
        return (sent, try #require(lastState))
    }

    /// The server's answer to `sql` as text rows.
    static func query(_ connection: PostgresConnection, _ sql: String) async throws -> [[String?]] {
        try await connection.execute(sql).rows
    }
}
