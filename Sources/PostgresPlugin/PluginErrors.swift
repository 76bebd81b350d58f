import PostgresClient
import SluiceWire

/// Turns failures of a call (PostgreSQL's among them) into ``PluginError``s a host can act on.
enum PluginErrors {
    /// `error` as a PluginError naming `stream`; `otherCode` is the code of failures that are
    /// neither PostgreSQL's nor already a PluginError.
    static func map(_ error: Error, stream: StreamID?, otherCode: String) -> Error {
        switch error {
        case let error as PluginError:
            return error
        case let error as PostgresError:
            if let timeout = timeout(error, stream: stream, table: nil) { return timeout }
            let prefix = stream.map { "stream \($0): " } ?? ""
            let category: ErrorCategory
            let code: String
            switch error.kind {
            case .connectionLost, .connectionClosed:
                category = .transient
                code = "CONNECTION_LOST"
            case _ where connectCode(error.kind) != nil:
                category = error.isRetryable ? .transient : .config
                code = connectCode(error.kind) ?? ""
            case .cancelled:
                category = .cancelled
                code = "CANCELLED"
            case .server where error.sqlState?.hasPrefix("42") == true:
                category = .config
                code = "SQL_ERROR"
            default:
                category = error.isRetryable ? .transient : .system
                code = "POSTGRES_ERROR"
            }
            var detail = error.sqlState.map { "SQLSTATE \($0)" } ?? ""
            if let more = error.detail, !more.isEmpty { detail += (detail.isEmpty ? "" : "; ") + more }
            return PluginError(category: category, code: code, message: prefix + error.message, detail: detail,
                               retryable: error.isRetryable || category == .transient, stream: stream)
        case is CancellationError:
            return error
        default:
            return PluginError(category: .system, code: otherCode, message: "\(stream.map { "stream \($0): " } ?? "")\(describe(error))", stream: stream)
        }
    }

    /// The code of a failure to connect, the same in Check, a Read and a Write: `AUTH_FAILED`
    /// (wrong user or password), `UNKNOWN_DATABASE`, `DNS_FAILED`, `TLS_FAILED`, `CONN_FAILED`
    /// (refused, unreachable, timed out); nil for any other kind of error.
    static func connectCode(_ kind: PostgresError.Kind) -> String? {
        switch kind {
        case .authenticationFailed: "AUTH_FAILED"
        case .unknownDatabase: "UNKNOWN_DATABASE"
        case .dnsFailed: "DNS_FAILED"
        case .tlsFailed: "TLS_FAILED"
        case .connectionFailed: "CONN_FAILED"
        default: nil
        }
    }

    /// `error` in words for a message: a PluginError's or PostgreSQL's message, "cancelled" for a
    /// cancellation, and never a Swift type name for errors that describe themselves.
    /// Why a read stream is incomplete, for its StreamStatus: `error` (already mapped), or
    /// that the read was cancelled, never a Swift type's name.
    static func incompleteRead(_ error: any Error) -> String {
        error is CancellationError ? "the read was cancelled before the stream was complete" : "\(error)"
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PluginError: error.message
        case let error as PostgresError: error.message
        case is CancellationError: "cancelled"
        default: String(describing: error)
        }
    }

    /// `LOCK_TIMEOUT` for a lock not granted within `lock_timeout` (SQLSTATE 55P03) and
    /// `STATEMENT_TIMEOUT` for a statement the server cancelled after `statement_timeout`
    /// (57014 that this plugin did not ask for); nil for any other error. Both are transient and
    /// retryable: the same call may succeed once the lock holder or the load is gone. `table`
    /// (quoted, qualified) is named when known, else `stream`.
    static func timeout(_ error: PostgresError, stream: StreamID?, table: String?) -> PluginError? {
        let what = [stream.map { "stream \($0)" }, table.map { "table \($0)" }].compactMap { $0 }.joined(separator: ", ")
        let prefix = what.isEmpty ? "" : what + ": "
        let detail = [error.sqlState.map { "SQLSTATE \($0)" }, error.detail].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "; ")
        switch (error.kind, error.sqlState) {
        case (.server, "55P03"):
            return PluginError(category: .transient, code: "LOCK_TIMEOUT",
                               message: prefix + "a lock was not granted within lock_timeout (\(error.message)): another session holds a conflicting lock on \(table ?? "a table this call uses"); find it in pg_locks and pg_stat_activity, or raise lock_timeout",
                               detail: detail, retryable: true, stream: stream)
        case (.server, "57014"):
            return PluginError(category: .transient, code: "STATEMENT_TIMEOUT",
                               message: prefix + "a statement ran longer than statement_timeout (\(error.message)); raise statement_timeout or set it to 0",
                               detail: detail, retryable: true, stream: stream)
        default:
            return nil
        }
    }
}
