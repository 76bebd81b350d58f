import PostgresClient
import SluiceTestSupport
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

    /// The state of backend `pid` in pg_stat_activity (`idle`, `active`, …).
    private func state(of pid: String, on observer: PostgresConnection) async throws -> String? {
        try await observer.execute("SELECT state FROM pg_stat_activity WHERE pid = $1::int", [.text(pid)]).rows.first?.first ?? nil
    }

    @Test("cancel() stops a running statement with a cancelled error")
    func cancelRunningStatement() async throws {
        let connection = try await TestDatabase.connect()
        let observer = try await TestDatabase.connect()
        defer { connection.close(); observer.close() }
        let pid = try #require(try await connection.execute("SELECT pg_backend_pid()").rows.first?.first ?? nil)
        let sleeper = Task { try await connection.execute("SELECT pg_sleep(600)") }
        try await waitFor(pid: pid, on: observer, gone: false)
        connection.cancel()
        let error = await expectPostgresError {
            _ = try await endOrHang(sleeper, onHang: { _ = try? await observer.execute("SELECT pg_cancel_backend($1::int)", [.text(pid)]) }).get()
        }
        #expect(error?.kind == .cancelled)
        #expect(error?.sqlState == "57014")
        #expect(connection.isAlive)
        #expect(try await connection.execute("SELECT 'after cancel'").rows == [["after cancel"]])
    }

    @Test("cancelling the task stops a statement waiting for a lock and leaves its session idle")
    func taskCancellationStopsLockWait() async throws {
        let connection = try await TestDatabase.connect()
        let locker = try await TestDatabase.connect()
        defer { connection.close(); locker.close() }
        let table = randomToken("locked")
        try await locker.executeScript("CREATE TABLE \(table) (id int)")
        try await locker.executeScript("BEGIN; LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE")
        let pid = try #require(try await connection.execute("SELECT pg_backend_pid()").rows.first?.first ?? nil)
        let waiter = Task { try await connection.execute("SELECT count(*) FROM \(table)") }
        let observer = try await TestDatabase.connect()
        defer { observer.close() }
        try await waitForLockWait(pid: pid, on: observer)
        waiter.cancel()
        let error = await expectPostgresError {
            _ = try await endOrHang(waiter, onHang: { _ = try? await observer.execute("SELECT pg_cancel_backend($1::int)", [.text(pid)]) }).get()
        }
        #expect(error?.kind == .cancelled)
        #expect(try await state(of: pid, on: observer) == "idle")
        #expect(try await connection.execute("SELECT 'after cancel'").rows == [["after cancel"]])
        try await locker.executeScript("ROLLBACK; DROP TABLE \(table)")
    }

    /// A task already cancelled sends its cancel request as a statement starts; a quick statement
    /// may finish before the server acts on it or be cancelled itself (either is correct), but a
    /// slow one is always cancelled and the connection stays usable.
    @Test("a statement started in a cancelled task is cancelled too")
    func alreadyCancelledTask() async throws {
        let connection = try await TestDatabase.connect()
        let observer = try await TestDatabase.connect()
        defer { connection.close(); observer.close() }
        let pid = try #require(try await connection.execute("SELECT pg_backend_pid()").rows.first?.first ?? nil)
        let task = Task { () async throws -> (Outcome, Outcome) in
            withUnsafeCurrentTask { $0?.cancel() }
            let quick = await outcome { () async throws(PostgresError) in try await connection.execute("SELECT 'quick'").rows }
            let slow = await outcome { () async throws(PostgresError) in try await connection.execute("SELECT pg_sleep(600)").rows }
            return (quick, slow)
        }
        let (quick, slow) = try await endOrHang(task, onHang: {
            _ = try? await observer.execute("SELECT pg_cancel_backend($1::int)", [.text(pid)])
        }).get()
        #expect(quick == .rows([["quick"]]) || quick == .failed(.cancelled))
        #expect(slow == .failed(.cancelled))
        #expect(try await connection.execute("SELECT 'after cancel'").rows == [["after cancel"]])
    }

    /// What one statement came to: its rows, or the kind of its error.
    private enum Outcome: Equatable {
        case rows([[String?]])
        case failed(PostgresError.Kind)
    }

    private func outcome(_ statement: () async throws(PostgresError) -> [[String?]]) async -> Outcome {
        do {
            return .rows(try await statement())
        } catch {
            return .failed(error.kind)
        }
    }

    @Test("cancelling the task stops a slow COPY TO STDOUT")
    func taskCancellationStopsCopyOut() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let observer = try await TestDatabase.connect()
        defer { observer.close() }
        let pid = try #require(try await connection.execute("SELECT pg_backend_pid()").rows.first?.first ?? nil)
        let reader = Task {
            try await connection.copyOut("COPY (SELECT g, pg_sleep(600) FROM generate_series(1, 3) g) TO STDOUT") { _ in }
        }
        try await waitFor(pid: pid, on: observer, gone: false)
        reader.cancel()
        let error = await expectPostgresError {
            _ = try await endOrHang(reader, onHang: { _ = try? await observer.execute("SELECT pg_cancel_backend($1::int)", [.text(pid)]) }).get()
        }
        #expect(error?.kind == .cancelled)
        #expect(try await connection.execute("SELECT 'after cancel'").rows == [["after cancel"]])
    }

    @Test("statement_timeout is the server's error 57014, not a cancellation")
    func statementTimeoutIsNotCancelled() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        try await connection.executeScript("SET statement_timeout = '100ms'")
        let error = await expectPostgresError { _ = try await connection.execute("SELECT pg_sleep(600)") }
        #expect(error?.kind == .server)
        #expect(error?.sqlState == "57014")
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

/// Awaits `task`; when it has not ended after `seconds` (a hang: nothing here takes that long
/// even on a busy machine), records an issue, cancels it and runs `onHang` (which should end
/// what it waits for, so that a hang fails the test instead of blocking the run).
func endOrHang<T: Sendable>(_ task: Task<T, any Error>, seconds: Int = 60,
                            onHang: @escaping @Sendable () async -> Void = {},
                            sourceLocation: SourceLocation = #_sourceLocation) async -> Result<T, any Error> {
    let watchdog = Task {
        try await Task.sleep(for: .seconds(seconds))
        Issue.record("still running after \(seconds) s", sourceLocation: sourceLocation)
        task.cancel()
        await onHang()
    }
    defer { watchdog.cancel() }
    return await task.result
}
