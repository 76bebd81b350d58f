import Foundation
import PostgresClient
import SluiceSDK
import SluiceTestSupport
import SluiceWire
import Testing

@Suite("Source: streams read side by side")
struct SourceConcurrencyTests {
    @Test("with max_connections 2 a stream is read while another waits for a lock, every row once, states per stream")
    func streamsSideBySide() async throws {
        try await SourceHarness.withSchema { schema, db in
            let (client, locker) = try await Self.startReadWithALocked(schema, db)
            defer { locker.close(); Task { await client.close() } }
            let released = Flag()
            let watchdog = Task {
                try await Task.sleep(for: .seconds(120))
                if released.set() { _ = try? await locker.execute("ROLLBACK") }
            }
            defer { watchdog.cancel() }
            var rows: [String: [Int32]] = [:]
            var schemas: [StreamID: StreamSchema] = [:]
            var bCompleteBeforeAnyRowOfA: Bool?
            var finalStates: [String: [String: Any]] = [:]
            while let message = try await client.nextCallMessage() {
                switch message {
                case .schema(let value): schemas[value.stream] = value
                case .records(let batch):
                    let schema = try #require(schemas[batch.stream])
                    for row in batch.rows(schema: schema) {
                        if case .int32(let id) = row[0] { rows[batch.stream.name, default: []].append(id) }
                    }
                case .streamStatus(let status) where status.status == .complete:
                    if status.stream.name == "b", bCompleteBeforeAnyRowOfA == nil {
                        bCompleteBeforeAnyRowOfA = rows["a", default: []].isEmpty
                        if released.set() { _ = try await locker.execute("ROLLBACK") }
                    }
                case .state(let state): finalStates[state.stream?.name ?? ""] = SourceHarness.json(state)
                case .summary: break
                default: continue
                }
                if case .summary = message { break }
            }
            #expect(bCompleteBeforeAnyRowOfA == true, "b was read to its end while a waited")
            #expect(rows["a", default: []].sorted() == Array(1 ... 3000))
            #expect(rows["b", default: []].sorted() == Array(1 ... 2000))
            #expect(finalStates["a"]?["complete"] as? Bool == true)
            #expect(finalStates["b"]?["complete"] as? Bool == true)
        }
    }

    @Test("a stream that fails while another is read side by side fails the Read with its own error, reported incomplete")
    func failureStopsTheRead() async throws {
        try await SourceHarness.withSchema { schema, db in
            let (client, locker) = try await Self.startReadWithALocked(schema, db)
            defer { locker.close(); Task { await client.close() } }
            let table = "\(SQL.quoteIdentifier(schema)).a"
            var incomplete: [String] = []
            var failure: PluginError?
            do {
                while let message = try await client.nextCallMessage() {
                    guard case .streamStatus(let status) = message else { continue }
                    if status.status == .incomplete { incomplete.append(status.stream.name) }
                    guard status.stream.name == "b", status.status == .complete else { continue }
                    // b is read; the connection waiting for a's lock is stopped by the server.
                    for _ in 0 ..< 2400 {
                        let cancelled = try await locker.execute(
                            "SELECT count(pg_cancel_backend(pid)) FROM pg_locks WHERE relation = $1::regclass AND NOT granted", [.text(table)])
                        if cancelled.rows.first?.first != "0" { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
            } catch HostError.plugin(let error) {
                failure = error
            }
            _ = try await locker.execute("ROLLBACK")
            #expect(failure?.stream?.name == "a", "\(String(describing: failure))")
            #expect(failure?.message.contains("cancel") == true, "\(String(describing: failure))")
            #expect(incomplete == ["a"])
        }
    }

    /// Makes tables `a` (3,000 rows) and `b` (2,000) in `schema`, locks `a` (ACCESS EXCLUSIVE, on
    /// the returned connection, whose transaction holds it) and starts a Read of both with
    /// `max_connections: 2`: reading `a` waits for the lock, which one connection alone would do
    /// before it ever reached `b`.
    private static func startReadWithALocked(_ schema: String, _ db: PostgresConnection) async throws -> (PluginClient, PostgresConnection) {
        let s = SQL.quoteIdentifier(schema)
        _ = try await db.executeScript("""
            CREATE TABLE \(s).a (id int PRIMARY KEY, v text);
            CREATE TABLE \(s).b (id int PRIMARY KEY, v text);
            INSERT INTO \(s).a SELECT g, 'a' || g FROM generate_series(1, 3000) g;
            INSERT INTO \(s).b SELECT g, 'b' || g FROM generate_series(1, 2000) g;
            """)
        let locker = try await TestDatabase.connect()
        _ = try await locker.executeScript("BEGIN; LOCK TABLE \(s).a IN ACCESS EXCLUSIVE MODE")
        let client = try await SourceHarness.launch()
        let streams = [SourceHarness.stream(schema, "a", columns: ["id", "v"]), SourceHarness.stream(schema, "b", columns: ["id", "v"])]
        try await client.startRead(ReadRequest(configJSON: SourceHarness.config(["max_connections": 2, "batch_size": 500]),
                                               catalog: ConfiguredCatalog(streams: streams), states: []))
        return (client, locker)
    }
}

/// A flag set once, from any task; `set()` says whether this call set it.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var isSet = false

    func set() -> Bool {
        lock.withLock {
            defer { isSet = true }
            return !isSet
        }
    }
}
