import Dispatch
import Foundation

/// One PostgreSQL connection over libpq.
///
/// libpq calls block, so each one runs on this connection's own serial `DispatchQueue`, never on
/// Swift's cooperative pool; the `async` methods wait for it without holding a pool thread. The
/// queue also keeps calls on one connection in order, one at a time; use a connection from one
/// task at a time (a COPY spans several calls, which another task's statement must not split).
/// Only ``cancel()`` is meant to be used while another call runs. Cancelling the calling `Task`
/// does not interrupt a statement: call ``cancel()`` for that.
public final class PostgresConnection: @unchecked Sendable {
    // @unchecked: `handle` is only touched on `queue`; `healthy` and `closed` are guarded by
    // `lock`; the rest is immutable or Sendable.
    private let queue: DispatchQueue
    private let handle: ConnectionHandle
    private let cancelToken: CancelToken?
    private let notices: NoticeRelay
    private let lock = NSLock()
    private var healthy = true
    private var closed = false

    /// The server's version as a number, such as 180001 for PostgreSQL 18.1 (`PQserverVersion`).
    public let serverVersionNumber: Int

    private init(queue: DispatchQueue, handle: ConnectionHandle, notices: NoticeRelay) {
        self.queue = queue
        self.handle = handle
        self.notices = notices
        self.cancelToken = handle.makeCancelToken()
        self.serverVersionNumber = handle.serverVersion
    }

    /// Opens a connection with `PQconnectdbParams`. Failures are classified (DNS,
    /// authentication, unknown database, TLS, unreachable) and scrubbed of `config`'s secrets.
    public static func connect(_ config: ConnectionConfig) async throws(PostgresError) -> PostgresConnection {
        let parameters = try config.libpqParameters()
        let expand = config.expandsConnectionString
        let secrets = config.secrets
        let queue = DispatchQueue(label: "sluice.postgres.connection")
        let outcome: Result<PostgresConnection, PostgresError> = await withCheckedContinuation { continuation in
            queue.async {
                let notices = NoticeRelay()
                continuation.resume(returning: Result { () throws(PostgresError) in
                    let handle = try ConnectionHandle.open(parameters, expandDatabaseName: expand, secrets: secrets, notices: notices)
                    return PostgresConnection(queue: queue, handle: handle, notices: notices)
                })
            }
        }
        return try outcome.get()
    }

    /// Receives the server's NOTICE and WARNING messages (scrubbed of secrets), on the
    /// connection's queue; nil, the default, drops them. Once connected they never go to
    /// stderr; the few a server may send during the handshake itself still reach libpq's
    /// default (stderr), because `PQconnectdbParams` returns only after it.
    public var onNotice: (@Sendable (String) -> Void)? {
        get { notices.handler }
        set { notices.handler = newValue }
    }

    /// Whether the connection was in a good state after its last call (`PQstatus` OK) and has
    /// not been closed.
    public var isAlive: Bool { lock.withLock { healthy && !closed } }

    /// Runs `body` with the handle on the connection's queue and waits for it.
    func run<T: Sendable>(_ body: @escaping @Sendable (ConnectionHandle) throws(PostgresError) -> T) async throws(PostgresError) -> T {
        let outcome: Result<T, PostgresError> = await withCheckedContinuation { continuation in
            queue.async {
                let outcome = Result { () throws(PostgresError) in try body(self.handle) }
                let healthy = self.handle.isAlive
                self.lock.withLock { self.healthy = healthy }
                continuation.resume(returning: outcome)
            }
        }
        return try outcome.get()
    }

    /// Runs one statement (`PQexecParams`) with `parameters` bound as `$1`, `$2`, …; results
    /// come back in text format, copied into a ``QueryResult``.
    public func execute(_ sql: String, _ parameters: [PostgresValue] = []) async throws(PostgresError) -> QueryResult {
        try await run { handle throws(PostgresError) in try handle.execute(sql, parameters) }
    }

    /// Runs several `;`-separated statements through the simple query protocol (`PQexec`),
    /// without parameters; returns the last statement's result. Stops at the first error.
    @discardableResult
    public func executeScript(_ sql: String) async throws(PostgresError) -> QueryResult {
        try await run { handle throws(PostgresError) in try handle.executeScript(sql) }
    }

    /// Prepares `sql` as the named statement `name` (`PQprepare`): fails fast with the server's
    /// error when the statement does not parse or refers to something missing.
    public func prepare(name: String, sql: String) async throws(PostgresError) {
        try await run { handle throws(PostgresError) in try handle.prepare(name: name, sql: sql) }
    }

    /// Asks the server to cancel the statement running now (`PQcancel`); callable from any
    /// thread. The running call then fails with ``PostgresError/Kind/cancelled``. Returns whether
    /// the request was sent; nothing happens when no statement is running.
    @discardableResult
    public func cancel() -> Bool {
        cancelToken?.send() ?? false
    }

    /// Closes the connection (`PQfinish`) once the call running now, if any, is done; later
    /// calls fail with ``PostgresError/Kind/connectionClosed``. Does not block.
    public func close() {
        lock.withLock { closed = true }
        queue.async { self.handle.finish() }
    }
}
