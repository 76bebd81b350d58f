import Dispatch
import Foundation

/// One PostgreSQL connection over libpq.
///
/// libpq calls block, so each one runs on this connection's own serial `DispatchQueue`, never on
/// Swift's cooperative pool; the `async` methods wait for it without holding a pool thread. The
/// queue also keeps calls on one connection in order, one at a time; use a connection from one
/// task at a time (a COPY spans several calls, which another task's statement must not split).
/// Only ``cancel()`` is meant to be used while another call runs.
///
/// Every call is cancellable: when the calling `Task` is cancelled while a call runs (or
/// before it starts), the statement running on the server gets a cancel request, repeated
/// until the call ends, and the call throws ``PostgresError/Kind/cancelled``. A statement that
/// ends before the request reaches it (a `ROLLBACK`, say) ends normally, so clean-up
/// statements still work in a cancelled task. Only connecting is not interrupted; it is bounded
/// by ``ConnectionConfig/connectTimeoutSeconds``.
public final class PostgresConnection: @unchecked Sendable {
    // @unchecked: `handle` is only touched on `queue`; `healthy`, `closed` and `current` are
    // guarded by `lock`; the rest is immutable or Sendable.
    private let queue: DispatchQueue
    private let handle: ConnectionHandle
    private let cancelToken: CancelToken?
    private let notices: NoticeRelay
    private let lock = NSLock()
    private var healthy = true
    private var closed = false
    /// The interrupt of the call running now, if any.
    private var current: StatementInterrupt?

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
        let settings = config.sessionSettings.sorted { $0.key < $1.key }
        let simpleProtocol = config.options["replication"] != nil
        let queue = DispatchQueue(label: "sluice.postgres.connection")
        let outcome: Result<PostgresConnection, PostgresError> = await withCheckedContinuation { continuation in
            queue.async {
                let notices = NoticeRelay()
                continuation.resume(returning: Result { () throws(PostgresError) in
                    let handle = try ConnectionHandle.open(parameters, expandDatabaseName: expand, secrets: secrets, notices: notices)
                    try handle.apply(settings, simpleProtocol: simpleProtocol)
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

    /// Runs `body` with the handle on the connection's queue and waits for it. When the calling
    /// task is cancelled (or `cancelling` is true), the server is asked to cancel what `body`
    /// runs; a failure then becomes ``PostgresError/Kind/cancelled``.
    ///
    /// A COPY left open (``copyInKeepingOpen(_:header:chunks:trailer:continuing:inOpenTransaction:onStart:)``)
    /// is ended before `body` runs, unless `keepingCopyOpen`: a statement never meets it, and
    /// its failure fails the call.
    func run<T: Sendable>(cancelling: Bool = false, keepingCopyOpen: Bool = false,
                          _ body: @escaping @Sendable (ConnectionHandle) throws(PostgresError) -> T) async throws(PostgresError) -> T {
        let token = cancelToken
        let interrupt = StatementInterrupt { _ = token?.send() }
        if cancelling { interrupt.request() }
        let outcome: Result<T, PostgresError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                queue.async {
                    self.lock.withLock { self.current = interrupt }
                    let outcome = Result { () throws(PostgresError) in
                        if !keepingCopyOpen, self.handle.openCopy != nil { _ = try self.handle.endOpenCopy() }
                        return try body(self.handle)
                    }
                    interrupt.end()
                    let healthy = self.handle.isAlive
                    self.lock.withLock {
                        self.healthy = healthy
                        self.current = nil
                    }
                    continuation.resume(returning: outcome)
                }
            }
        } onCancel: {
            interrupt.request()
        }
        switch outcome {
        case .success(let value):
            return value
        case .failure(let error):
            throw error.cancellation(requested: interrupt.wasRequested)
        }
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

    /// Runs several `;`-separated statements like ``executeScript(_:)``; returns every
    /// statement's result, in order.
    public func executeScriptResults(_ sql: String) async throws(PostgresError) -> [QueryResult] {
        try await run { handle throws(PostgresError) in try handle.executeScriptResults(sql) }
    }

    /// Commits the open transaction. PostgreSQL answers `COMMIT` of a transaction that had failed
    /// by rolling it back, and `COMMIT` without a transaction with a warning, both without an
    /// error: here the first throws ``PostgresError/Kind/rolledBack`` and the second
    /// ``PostgresError/Kind/transactionNotOpen`` (nothing sent), so a caller never takes either
    /// for committed.
    public func commit() async throws(PostgresError) {
        try await run { handle throws(PostgresError) in try handle.commit() }
    }

    /// Prepares `sql` as the named statement `name` (`PQprepare`): fails fast with the server's
    /// error when the statement does not parse or refers to something missing.
    public func prepare(name: String, sql: String) async throws(PostgresError) {
        try await run { handle throws(PostgresError) in try handle.prepare(name: name, sql: sql) }
    }

    /// Asks the server to cancel the call running now (`PQcancel`, repeated until the call
    /// ends); callable from any thread, does not block. The running call then fails with
    /// ``PostgresError/Kind/cancelled``. Nothing happens when no call is running. Cancelling
    /// the calling task does the same; this is for code that cannot cancel that task.
    public func cancel() {
        lock.withLock { current }?.request()
    }

    /// Closes the connection (`PQfinish`) once the call running now, if any, is done; later
    /// calls fail with ``PostgresError/Kind/connectionClosed``. Does not block.
    public func close() {
        lock.withLock { closed = true }
        queue.async { self.handle.finish() }
    }
}
