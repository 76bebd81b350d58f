import CLibPQ

/// Owns one `PGconn` and is the only code that touches it.
///
/// Not thread-safe: ``PostgresConnection`` calls it only from its private serial queue. The
/// `PGconn` is finished by ``finish()`` or, at the latest, in `deinit` (also when connecting
/// failed); the notice relay it points to is held until then.
final class ConnectionHandle {
    /// The `PGconn`, nil once finished.
    private(set) var conn: OpaquePointer?
    private let notices: NoticeRelay
    /// The secrets scrubbed from every error this connection makes.
    private(set) var secrets: [String]
    /// The COPY FROM STDIN left open between calls (``copyInKeepingOpen(_:header:chunks:trailer:continuing:inOpenTransaction:onStart:)``).
    var openCopy: OpenCopy?

    private init(_ conn: OpaquePointer?, notices: NoticeRelay, secrets: [String]) {
        self.conn = conn
        self.notices = notices
        self.secrets = secrets
    }

    deinit { finish() }

    /// Connects with `PQconnectdbParams`; blocks until connected or failed. `notices` receives
    /// the server's notices from then on. The password libpq ended up using (from the fields,
    /// environment or password file) joins `secrets`.
    static func open(_ parameters: [(keyword: String, value: String)], expandDatabaseName: Bool,
                     secrets: [String], notices: NoticeRelay) throws(PostgresError) -> ConnectionHandle {
        let conn = CStringList.with(parameters.map(\.keyword)) { keywords in
            CStringList.with(parameters.map(\.value)) { values in
                PQconnectdbParams(keywords, values, expandDatabaseName ? 1 : 0)
            }
        }
        let handle = ConnectionHandle(conn, notices: notices, secrets: secrets)
        guard let conn else {
            throw PostgresError(kind: .connectionFailed, message: "libpq could not allocate a connection", secrets: secrets)
        }
        let used = Conninfo.inUse(conn)
        handle.secrets = Redaction.normalised(secrets + ConnectionConfig.secretKeywords.compactMap { used[$0] })
        notices.secrets = handle.secrets
        notices.install(on: conn)
        guard PQstatus(conn) == CONNECTION_OK else {
            throw PostgresError.connectFailure(handle.libpqMessage, secrets: handle.secrets)
        }
        return handle
    }

    /// Closes the connection now; later calls fail with ``PostgresError/Kind/connectionClosed``.
    func finish() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    /// Whether the connection is open and in a good state.
    var isAlive: Bool {
        guard let conn else { return false }
        return PQstatus(conn) == CONNECTION_OK
    }

    /// The server version as a number, such as 180001 for 18.1; 0 when closed.
    var serverVersion: Int { conn.map { Int(PQserverVersion($0)) } ?? 0 }

    /// A cancel object for the current backend, if libpq can make one.
    func makeCancelToken() -> CancelToken? { conn.flatMap { CancelToken($0) } }

    /// The open `PGconn`, or the error for a closed one.
    func open() throws(PostgresError) -> OpaquePointer {
        guard let conn else {
            throw PostgresError(kind: .connectionClosed, message: "the connection was closed", secrets: [])
        }
        return conn
    }

    /// libpq's latest error message for this connection.
    var libpqMessage: String {
        guard let conn else { return "the connection was closed" }
        return String(cString: PQerrorMessage(conn)).withoutTrailingNewlines
    }

    /// An error from libpq's own message: ``PostgresError/Kind/connectionLost`` when the
    /// connection broke, `kind` otherwise.
    func clientError(_ kind: PostgresError.Kind, context: String) -> PostgresError {
        let detail = libpqMessage
        return PostgresError(kind: isAlive ? kind : .connectionLost,
                             message: detail.isEmpty ? context : "\(context): \(detail)", secrets: secrets)
    }

    /// The error `result` reports: lost connection, cancelled statement (57014) or server error.
    func failure(_ result: borrowing ResultHandle) -> PostgresError {
        let kind: PostgresError.Kind = !isAlive ? .connectionLost : result.sqlState == "57014" ? .cancelled : .server
        return result.error(kind: kind, secrets: secrets)
    }

    /// Rejects SQL text that C cannot carry.
    func checkStatement(_ sql: String) throws(PostgresError) {
        guard !sql.utf8.contains(0) else {
            throw PostgresError(kind: .invalidArgument, message: "the statement contains a NUL character", secrets: secrets)
        }
    }
}
