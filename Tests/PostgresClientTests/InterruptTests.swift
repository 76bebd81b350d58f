import PostgresClient
import Testing

@Suite("Cancel and lost connections")
struct InterruptTests {
    /// Waits until `pid` runs a statement (or, with `gone`, no longer exists).
    private func waitFor(pid: String, on observer: PostgresConnection, gone: Bool) async throws {
        for _ in 0..<200 {
            let sql = gone ? "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int"
                           : "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int AND state = 'active'"
            let count = try await observer.execute(sql, [.text(pid)]).rows.first?.first
            if count == (gone ? "0" : "1") { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("backend \(pid) did not reach the expected state")
    }

    @Test("cancel() stops pg_sleep(10) quickly with a cancelled error")
    func cancelRunningStatement() async throws {
        let connection = try await TestDatabase.connect()
        let observer = try await TestDatabase.connect()
        defer { connection.close(); observer.close() }
        let pid = try #require(try await connection.execute("SELECT pg_backend_pid()").rows.first?.first ?? nil)
        let clock = ContinuousClock()
        let start = clock.now
        let sleeper = Task { try await connection.execute("SELECT pg_sleep(10)") }
        try await waitFor(pid: pid, on: observer, gone: false)
        #expect(connection.cancel())
        let error = await expectPostgresError { _ = try await sleeper.value }
        #expect(error?.kind == .cancelled)
        #expect(error?.sqlState == "57014")
        #expect(clock.now - start < .seconds(5))
        #expect(connection.isAlive)
        #expect(try await connection.execute("SELECT 'after cancel'").rows == [["after cancel"]])
    }

    @Test("a terminated backend gives a retryable connectionLost")
    func terminatedBackend() async throws {
        let connection = try await TestDatabase.connect()
        let killer = try await TestDatabase.connect()
        defer { connection.close(); killer.close() }
        let pid = try #require(try await connection.execute("SELECT pg_backend_pid()").rows.first?.first ?? nil)
        #expect(try await killer.execute("SELECT pg_terminate_backend($1::int)", [.text(pid)]).rows == [["t"]])
        try await waitFor(pid: pid, on: killer, gone: true)
        let error = await expectPostgresError { _ = try await connection.execute("SELECT 1") }
        #expect(error?.kind == .connectionLost)
        #expect(error?.isRetryable == true)
        #expect(!connection.isAlive)
    }
}
