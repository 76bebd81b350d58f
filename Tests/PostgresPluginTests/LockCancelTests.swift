import Foundation
import Synchronization
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing

/// Calls waiting on a table another session locked, or on a slow statement: Cancel and SIGTERM
/// stop them and their server statements (no session is left waiting), and `lock_timeout` and
/// `statement_timeout` end them with their own error codes. Time bounds only catch hangs.
@Suite("Cancelling calls that wait on locks", .serialized, .temporaryFolder)
struct LockCancelTests {
    /// The number of sessions waiting for a lock on `table` (qualified, quoted).
    private func lockWaiters(_ connection: PostgresConnection, _ table: String) async throws -> Int {
        let rows = try await connection.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = to_regclass($1)", [.text(table)]).rows
        return Int(rows.first?.first.flatMap { $0 } ?? "") ?? -1
    }

    /// Polls until `condition` holds; records an issue after 60 s (a hang).
    private func eventually(_ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                            _ condition: () async throws -> Bool) async throws {
        for _ in 0..<2400 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("never: \(what)", sourceLocation: sourceLocation)
    }

    /// `body` with a second connection holding an ACCESS EXCLUSIVE lock on `table` until it returns.
    private func withLocked<T>(_ table: String, _ body: () async throws -> T) async throws -> T {
        let locker = try await TestDatabase.connect()
        defer { locker.close() }
        try await locker.executeScript("BEGIN; LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE")
        do {
            let result = try await body()
            try await locker.executeScript("ROLLBACK")
            return result
        } catch {
            _ = try? await locker.executeScript("ROLLBACK")
            throw error
        }
    }

    /// The plugin Error a call ended with, or the exit status of a plugin that ended instead.
    private func ending(_ body: () async throws -> Void) async -> (error: PluginError?, status: SluiceSDK.ExitStatus?) {
        do {
            try await body()
            Issue.record("the call ended without an error")
        } catch HostError.plugin(let error) {
            return (error, nil)
        } catch HostError.pluginCrashed(let status, _) {
            return (nil, status)
        } catch {
            Issue.record("unexpected error: \(error)")
        }
        return (nil, nil)
    }

    /// A Write started into `items` (one row in) while another session holds the table's lock:
    /// `body` gets the client, the checking connection and the table; afterwards the table
    /// still holds only its first row.
    private func withWriteOnLockedTable(_ body: (PluginClient, PostgresConnection, String) async throws -> Void) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["lock_timeout": 0])
            let streams = [ConfiguredStream(schema: DestinationHarness.items)]
            _ = try await DestinationHarness.write(config, streams: streams, [try DestinationHarness.items(1...1)])
            let table = SQL.quoteQualified(schema: schema, name: "items")
            try await withLocked(table) {
                let client = try await DestinationHarness.launch()
                try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: streams), sourceName: "tests"))
                try await body(client, connection, table)
                await client.close()
            }
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(table)") == [["1"]])
        }
    }

    @Test("Cancel stops a Write waiting for a locked table though its input pipe is full, and no session keeps waiting")
    func cancelWriteOnLockedTable() async throws {
        try await withWriteOnLockedTable { client, connection, table in
            // More input than the pipe and the plugin's inbox hold, so the host's writes block.
            let sender = Task {
                for message in try DestinationHarness.batches(DestinationHarness.items, 2...400_001) { try await client.send(message) }
                try await client.send(.writeEnd)
            }
            try await eventually("the Write waits for the lock") { try await lockWaiters(connection, table) > 0 }
            let outcome = await ending {
                try await client.cancel()
                while try await client.nextCallMessage() != nil {}
            }
            #expect(outcome.error?.code == "CANCELLED" || outcome.status == .exited(130), "\(outcome)")
            _ = await sender.result
            try await eventually("no session waits for the lock") { try await lockWaiters(connection, table) == 0 }
        }
    }

    @Test("Cancel stops a Write that stopped reading its input while the pipe still had room, so the Cancel sits unread behind batches: SIGTERM follows, no session keeps waiting")
    func cancelUnreadBehindBatches() async throws {
        try await withWriteOnLockedTable { client, connection, table in
            // Small batches, one at a time, until the plugin stops reading: its flush waits
            // for the lock and the input it reads ahead is full, while the pipe has room.
            var first: Int64 = 2
            var stalled = false
            while !stalled && first < 10_000_000 {
                try await client.send(try DestinationHarness.items(first...(first + 999)))
                first += 1000
                stalled = try await inputStalls(client, connection, table)
            }
            #expect(stalled, "the plugin never stopped reading its input")
            let unread = try #require(client.process.unreadInputBytes)
            #expect(unread > 0 && unread < 256 << 10, "\(unread) bytes unread")
            // Written at once (the pipe has room), then read by no one.
            try await client.cancel()
            let outcome = Mutex<(error: PluginError?, status: SluiceSDK.ExitStatus?)?>(nil)
            let reading = Task {
                let ended = await ending { while try await client.nextCallMessage() != nil {} }
                outcome.withLock { $0 = ended }
            }
            try await eventually("the cancelled Write ends") { outcome.withLock { $0 != nil } }
            if outcome.withLock({ $0 == nil }) { client.process.send(signal: SIGKILL) }
            _ = await reading.result
            let ended = outcome.withLock { $0 }
            #expect(ended?.error?.code == "CANCELLED" || ended?.status == .exited(130), "\(String(describing: ended))")
            try await eventually("no session waits for the lock") { try await lockWaiters(connection, table) == 0 }
        }
    }

    /// Whether `client`'s plugin stopped reading its input while a session waits for `table`'s
    /// lock: bytes stay unread in its pipe, unchanged, for 2 s.
    private func inputStalls(_ client: PluginClient, _ connection: PostgresConnection, _ table: String) async throws -> Bool {
        guard try await lockWaiters(connection, table) > 0 else { return false }
        try await Task.sleep(for: .milliseconds(5))
        let unread = client.process.unreadInputBytes ?? 0
        guard unread > 0 else { return false }
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(50))
            if client.process.unreadInputBytes != unread { return false }
        }
        return true
    }

    @Test("SIGTERM stops a plugin-host pipeline whose destination table is locked: exit 130, no session left waiting")
    func sigtermStopsPipelineOnLockedTable() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let destination = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schema: \(schema)\nlock_timeout: 0\n"))
            let source = { (rows: Int) in try HostFixtures.temporaryFile(#"{"rows": \#(rows), "batch_size": 1000}"#, suffix: ".json") }
            let arguments = { (sourceConfig: String) in
                ["pipeline", "--source", Binaries.sequencePlugin.path, "--source-config", sourceConfig,
                 "--destination", Binaries.postgresPlugin.path, "--destination-config", destination, "--write-mode", "append"]
            }
            // A first run creates the table.
            let first = try await HostFixtures.host(arguments(try source(10)))
            #expect(first.exitCode == 0, "\(first.stderr)")
            let table = SQL.quoteQualified(schema: schema, name: "numbers")
            try await withLocked(table) {
                let host = Process()
                host.executableURL = Binaries.pluginHost
                host.arguments = arguments(try source(5_000_000))
                host.standardOutput = FileHandle.nullDevice
                host.standardError = FileHandle.nullDevice
                try host.run()
                try await eventually("the pipeline waits for the lock") { try await lockWaiters(connection, table) > 0 }
                kill(host.processIdentifier, SIGTERM)
                try await eventually("plugin-host exits") { !host.isRunning }
                if host.isRunning { host.interrupt() }
                host.waitUntilExit()
                #expect(host.terminationReason == .exit && host.terminationStatus == 130)
                try await eventually("no session waits for the lock") { try await lockWaiters(connection, table) == 0 }
            }
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(table)") == [["10"]])
        }
    }

    @Test("SIGTERM stops a Read waiting for a locked table: CANCELLED, exit 130, no session left waiting")
    func sigtermStopsRead() async throws {
        try await SourceHarness.withSchema { schema, connection in
            let table = SQL.quoteQualified(schema: schema, name: "locked")
            _ = try await connection.execute("CREATE TABLE \(table) (id int PRIMARY KEY)")
            try await withLocked(table) {
                let client = try await SourceHarness.launch()
                let read = Task {
                    _ = try await SourceHarness.read([SourceHarness.stream(schema, "locked")], overrides: ["lock_timeout": 0], client: client)
                }
                try await eventually("the Read waits for the lock") { try await lockWaiters(connection, table) > 0 }
                client.process.send(signal: SIGTERM)
                let outcome = await ending { try await read.value }
                #expect(outcome.error?.code == "CANCELLED", "\(outcome)")
                #expect(await client.process.waitForExit() == .exited(130))
                try await eventually("no session waits for the lock") { try await lockWaiters(connection, table) == 0 }
            }
        }
    }

    @Test("Cancel stops a Read whose COPY is slow, and its statement ends on the server")
    func cancelSlowRead() async throws {
        try await SourceHarness.withSchema { schema, connection in
            let application = "sluice_slow_\(UInt32.random(in: 0...UInt32.max))"
            _ = try await connection.execute("CREATE VIEW \(SQL.quoteQualified(schema: schema, name: "slow")) AS SELECT g AS id FROM generate_series(1, 3) g, LATERAL (SELECT pg_sleep(600)) AS nap WHERE true")
            let client = try await SourceHarness.launch()
            let read = Task {
                _ = try await SourceHarness.read([SourceHarness.stream(schema, "slow")],
                                                 overrides: ["connection_string": "application_name=\(application)"], client: client)
            }
            let active = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'"
            try await eventually("the Read's COPY runs") {
                try await connection.execute(active, [.text(application)]).rows.first?.first == "1"
            }
            try await client.cancel()
            let outcome = await ending { try await read.value }
            #expect(outcome.error?.code == "CANCELLED", "\(outcome)")
            try await eventually("the COPY ended on the server") {
                try await connection.execute(active, [.text(application)]).rows.first?.first == "0"
            }
            // The session stays usable after a cancelled call (§6.1).
            #expect(try await client.spec().configSchemaJSON.contains("lock_timeout"))
            await client.close()
        }
    }

    @Test("lock_timeout ends a Write on a locked table with LOCK_TIMEOUT naming the table, and a Read too (a Discover does not wait)")
    func lockTimeout() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["lock_timeout": "300ms"])
            let streams = [ConfiguredStream(schema: DestinationHarness.items)]
            _ = try await DestinationHarness.write(config, streams: streams, [try DestinationHarness.items(1...1)])
            let table = SQL.quoteQualified(schema: schema, name: "items")
            try await withLocked(table) {
                let write = await ending {
                    _ = try await DestinationHarness.write(config, streams: streams, [try DestinationHarness.items(2...10)])
                }
                #expect(write.error?.code == "LOCK_TIMEOUT", "\(write)")
                #expect(write.error?.category == .transient)
                #expect(write.error?.retryable == true)
                #expect(write.error?.message.contains("items") == true, "\(write)")
                let read = await ending {
                    _ = try await SourceHarness.read([SourceHarness.stream(schema, "items")], overrides: ["lock_timeout": "300ms"])
                }
                #expect(read.error?.code == "LOCK_TIMEOUT", "\(read)")
            }
        }
    }

    @Test("statement_timeout ends a slow Read with STATEMENT_TIMEOUT, not CANCELLED")
    func statementTimeout() async throws {
        try await SourceHarness.withSchema { schema, connection in
            _ = try await connection.execute("CREATE VIEW \(SQL.quoteQualified(schema: schema, name: "slow")) AS SELECT g AS id FROM generate_series(1, 3) g, LATERAL (SELECT pg_sleep(600)) AS nap WHERE true")
            let outcome = await ending {
                _ = try await SourceHarness.read([SourceHarness.stream(schema, "slow")], overrides: ["statement_timeout": "300ms"])
            }
            #expect(outcome.error?.code == "STATEMENT_TIMEOUT", "\(outcome)")
            #expect(outcome.error?.category == .transient)
        }
    }

    @Test("lock_timeout and statement_timeout reject values PostgreSQL cannot take, naming the setting")
    func timeoutValidation() async throws {
        let client = try await SourceHarness.launch()
        let response = try await client.check(CheckRequest(configJSON: SourceHarness.config(["lock_timeout": "soon", "statement_timeout": "600h"])))
        await client.close()
        let config = try #require(response.checks.first { $0.name == "config" })
        #expect(!config.passed)
        #expect(config.message.contains("$.lock_timeout"), "\(config.message)")
        #expect(config.message.contains("$.statement_timeout"), "\(config.message)")
    }
}
