import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing

/// Cancelling a Write rolls back the flush in flight instead of letting it commit.
@Suite struct DestinationCancelTests {
    let items = DestinationHarness.items

    @Test func cancelRollsBackTheFlushInFlight() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let application = "sluice_cancel_" + schema
            let config = DestinationHarness.config(schema: schema, ["connection_string": "application_name=\(application)", "batch_size": 1_000_000])
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: items, writeMode: .append)])))
            try await client.send(.schema(items))
            try await client.send(try DestinationHarness.items(1...100))
            try await client.send(.state(State(id: 1, stream: nil, data: [])))
            var acked: UInt64?
            while acked == nil, let message = try await client.nextCallMessage() {
                if case .stateAck(let ack) = message { acked = ack.id }
            }
            #expect(acked == 1)

            // Hold the table locked so the next flush blocks inside its transaction.
            let locker = try await TestDatabase.connect()
            defer { locker.close() }
            _ = try await locker.execute("BEGIN")
            _ = try await locker.execute("LOCK TABLE \(schema).items IN ACCESS EXCLUSIVE MODE")
            try await client.send(try DestinationHarness.items(101...2_000))
            try await client.send(.state(State(id: 2, stream: nil, data: [])))
            var waiting = false
            for _ in 0..<600 where !waiting {
                try await Task.sleep(for: .milliseconds(50))
                let rows = try await connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [.text(application)]).rows
                waiting = rows == [["1"]]
            }
            #expect(waiting, "the flush never blocked on the lock")

            // Without the rollback the call would wait for the lock: it is released only after
            // 60 s, which bounds a hang; a cancel that works ends the call while it is still held.
            let release = Task {
                try await Task.sleep(for: .seconds(60))
                _ = try await locker.execute("ROLLBACK")
            }
            try await client.cancel()
            var failure: PluginError?
            do {
                while let message = try await client.nextCallMessage() {
                    if case .summary = message { break }
                }
            } catch let error as HostError {
                if case .plugin(let error) = error { failure = error }
            }
            let lockHeld = try await DestinationHarness.rows(connection, """
                SELECT count(*) FROM pg_locks WHERE relation = '\(schema).items'::regclass AND mode = 'AccessExclusiveLock' AND granted
                """)
            release.cancel()
            _ = try? await locker.execute("ROLLBACK")
            await client.close()
            #expect(failure?.category == .cancelled, "\(String(describing: failure))")
            #expect(lockHeld == [["1"]], "the call ended only once the lock was released: the cancel did not end it")
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), max(id) FROM \(schema).items") == [["100", "100"]])
        }
    }
}
