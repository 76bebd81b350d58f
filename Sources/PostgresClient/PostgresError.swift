/// A failure of the PostgreSQL client: connecting, a statement, COPY or the connection itself.
///
/// Every text it holds was scrubbed of the connection's secrets when the error was made, and its
/// ``description`` never includes a password or a connection string.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely.
    public enum Kind: String, Sendable, Hashable, CustomStringConvertible {
        /// The configuration cannot be used (for example a connection string libpq cannot parse).
        case invalidConfiguration
        /// A statement or parameter cannot be sent (NUL in text, too many parameters, …).
        case invalidArgument
        /// The server could not be reached: refused, timed out, unreachable, too many clients.
        case connectionFailed
        /// The host name could not be resolved.
        case dnsFailed
        /// The server rejected the user or password.
        case authenticationFailed
        /// The database does not exist.
        case unknownDatabase
        /// TLS could not be negotiated as `sslmode` demands.
        case tlsFailed
        /// The server reported an error for a statement; see ``PostgresError/sqlState``.
        case server
        /// The connection broke while in use (server shutdown, terminated backend, network).
        case connectionLost
        /// The connection was closed by this client before the call.
        case connectionClosed
        /// A COPY could not be carried out on the client side.
        case copyFailed
        /// The call was cancelled at this client's request: its task was cancelled, or
        /// ``PostgresConnection/cancel()`` was called. A statement the server cancelled on its
        /// own (`statement_timeout`, another session's `pg_cancel_backend`) is a
        /// ``server`` error with SQLSTATE 57014 instead.
        case cancelled
        /// libpq or the server answered something this client did not expect.
        case protocolViolation
        /// A call that must continue an open transaction found none, or a failed one
        /// (`PQtransactionStatus` not idle in a transaction block): nothing was sent.
        case transactionNotOpen
        /// `COMMIT` ended a transaction that had failed: the server rolled it back (its command
        /// tag said `ROLLBACK`), so nothing of it was committed.
        case rolledBack

        /// The case name.
        public var description: String { rawValue }
    }

    /// What went wrong, coarsely.
    public let kind: Kind
    /// The five-character SQLSTATE the server reported (`PG_DIAG_SQLSTATE`), if any.
    public let sqlState: String?
    /// The primary message.
    public let message: String
    /// The server's optional detail.
    public let detail: String?
    /// The server's optional hint.
    public let hint: String?
    /// The 1-based character position in the statement the error refers to, if reported.
    public let position: Int?
    /// The server's context lines (`PG_DIAG_CONTEXT`), such as `COPY t, line 3, column c`.
    public let context: String?

    /// An error whose texts are scrubbed of `secrets` here, once.
    init(kind: Kind, message: String, sqlState: String? = nil, detail: String? = nil, hint: String? = nil,
         position: Int? = nil, context: String? = nil, secrets: [String]) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = Redaction.scrub(message, secrets)
        self.detail = detail.map { Redaction.scrub($0, secrets) }
        self.hint = hint.map { Redaction.scrub($0, secrets) }
        self.position = position
        self.context = context.map { Redaction.scrub($0, secrets) }
    }

    /// This error as the outcome of a call that the client asked to cancel (`requested`) or
    /// not: a failure of a cancelled call is ``Kind/cancelled`` (unless the connection broke);
    /// a 57014 nobody here asked for is the server's own doing, a ``Kind/server`` error.
    func cancellation(requested: Bool) -> PostgresError {
        let kind: Kind
        switch self.kind {
        case .connectionLost, .connectionClosed: return self
        case .cancelled where !requested: kind = .server
        case _ where requested: kind = .cancelled
        default: return self
        }
        return PostgresError(kind: kind, message: message, sqlState: sqlState, detail: detail, hint: hint, position: position, secrets: [])
    }

    /// Whether running the same work again on a new connection may succeed: lost or refused
    /// connections, serialization failures (40001), deadlocks (40P01), server shutdown or
    /// start-up (57P01, 57P02, 57P03), too many connections (53300) and SQLSTATE class 08.
    public var isRetryable: Bool {
        switch kind {
        case .connectionLost, .connectionFailed: return true
        default: break
        }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["40001", "40P01", "57P01", "57P02", "57P03", "53300"].contains(sqlState)
    }

    /// `PostgresError(kind[, SQLSTATE]): message`, then detail, hint and position when present.
    public var description: String {
        var text = "PostgresError(\(kind)\(sqlState.map { ", SQLSTATE \($0)" } ?? "")): \(message)"
        if let detail, !detail.isEmpty { text += " — detail: \(detail)" }
        if let hint, !hint.isEmpty { text += " — hint: \(hint)" }
        if let position { text += " — at character \(position)" }
        return text
    }
}
