import Foundation
import PostgresClient
import Testing

/// Collects values handed over from other threads (notices, COPY chunks).
final class Collector<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Value] = []

    /// Adds one value.
    func append(_ value: Value) { lock.withLock { stored.append(value) } }

    /// Everything collected so far.
    var values: [Value] { lock.withLock { stored } }
}

/// Runs `body` and returns the PostgresError it throws; records an issue when it throws none.
func expectPostgresError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> PostgresError? {
    do {
        try await body()
        Issue.record("expected a PostgresError, got none", sourceLocation: sourceLocation)
    } catch let error as PostgresError {
        return error
    } catch {
        Issue.record("expected a PostgresError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// A fresh random text for names and passwords.
func randomToken(_ prefix: String) -> String {
    prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
}

/// Waits until backend `pid` waits for a lock.
func waitForLockWait(pid: String, on observer: PostgresConnection, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    for _ in 0..<2400 {
        let count = try await observer.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int AND wait_event_type = 'Lock'", [.text(pid)]).rows.first?.first
        if count == "1" { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    Issue.record("backend \(pid) never waited for a lock", sourceLocation: sourceLocation)
}
