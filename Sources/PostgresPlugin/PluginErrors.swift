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
            let prefix = stream.map { "stream \($0): " } ?? ""
            let category: ErrorCategory
            let code: String
            switch error.kind {
            case .connectionLost, .connectionClosed:
                category = .transient
                code = "CONNECTION_LOST"
            case .authenticationFailed, .unknownDatabase:
                category = .config
                code = "CONNECTION_CONFIG"
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
            return PluginError(category: .system, code: otherCode, message: "\(stream.map { "stream \($0): " } ?? "")\(error)", stream: stream)
        }
    }
}
