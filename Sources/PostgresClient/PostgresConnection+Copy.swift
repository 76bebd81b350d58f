/// What ``PostgresConnection/copyIn(_:chunks:followUp:inOpenTransaction:onStart:)`` did.
public struct CopyInResult: Sendable {
    /// The rows copied.
    public var rows: Int
    /// The result of each follow-up statement, in order.
    public var followUp: [QueryResult]
}

/// Sends the data of a running COPY FROM STDIN; handed to the closure of
/// ``PostgresConnection/copyIn(_:_:)``.
public struct CopyInWriter: Sendable {
    let connection: PostgresConnection

    /// Sends `bytes` of COPY data (`PQputCopyData`). Rows may span calls; large chunks (hundreds
    /// of kilobytes or more) keep the per-call cost low.
    public func send(_ bytes: [UInt8]) async throws(PostgresError) {
        guard !bytes.isEmpty else { return }
        try await connection.run { handle throws(PostgresError) in try handle.putCopyData(bytes) }
    }
}

extension PostgresConnection {
    /// Runs `sql`, which must be a `COPY … FROM STDIN`, and lets `write` send its data; returns
    /// the rows copied. When `write` throws, the COPY is aborted (`PQputCopyEnd` with an error
    /// message, so the server rolls back what it received) and `write`'s error is rethrown.
    nonisolated(nonsending)
    public func copyIn(_ sql: String, _ write: (CopyInWriter) async throws -> Void) async throws -> Int {
        try await run { handle throws(PostgresError) in try handle.beginCopyIn(sql) }
        do {
            try await write(CopyInWriter(connection: self))
        } catch {
            _ = try? await run { handle throws(PostgresError) in try handle.endCopyIn(abortMessage: "COPY aborted by the client") }
            throw error
        }
        return try await run { handle throws(PostgresError) in try handle.endCopyIn(abortMessage: nil) }
    }

    /// Runs `sql` (a `COPY … FROM STDIN`, or statements ending with one, sent together in one
    /// simple query), sends `chunks` as its data, ends it, then runs `followUp` (statements
    /// without parameters) if any; returns the rows copied and each follow-up statement's
    /// result. All of it is one call on the connection's thread: the server waits for no task
    /// to be scheduled between the steps (on a busy machine each hop between threads cost it
    /// milliseconds). A statement that fails (the COPY included, whose remaining data the server
    /// then discards) throws its error and runs nothing after it; cancelling the calling task
    /// cancels the statement running.
    ///
    /// `inOpenTransaction`: the call must continue the transaction open on the connection. It
    /// is checked on the connection's queue just before anything is sent: with no transaction
    /// block open, or a failed one, nothing is sent and ``PostgresError/Kind/transactionNotOpen``
    /// is thrown. So a call queued behind another (calls on a connection run in the order they
    /// were made) never runs in autocommit, nor after the other's failure.
    ///
    /// `onStart` is called on the connection's queue when the call starts and, with
    /// `inOpenTransaction`, has found the transaction open, before anything is sent: a call
    /// made after that runs after this one, which is not refused.
    public func copyIn(_ sql: String, chunks: [[UInt8]], followUp: String? = nil, inOpenTransaction: Bool = false,
                       onStart: (@Sendable () -> Void)? = nil) async throws(PostgresError) -> CopyInResult {
        try await run { handle throws(PostgresError) in
            let rows = try handle.copyIn(sql, chunks: chunks, inOpenTransaction: inOpenTransaction, onStart: onStart)
            return CopyInResult(rows: rows, followUp: try followUp.map(handle.executeScriptResults) ?? [])
        }
    }

    /// Sends `chunks` as data of `sql` (a `COPY … FROM STDIN`) and leaves the COPY open, so that
    /// later calls add rows to the same statement: the server goes on without a statement's
    /// start and end, nor a round trip, between them. `continuing`: the rows go into the COPY
    /// left open, which must run `sql` (else nothing is sent and
    /// ``PostgresError/Kind/transactionNotOpen`` is thrown); otherwise a new COPY starts (any
    /// open one is ended first), its data beginning with `header`, and `inOpenTransaction` and
    /// `onStart` are as in ``copyIn(_:chunks:followUp:inOpenTransaction:onStart:)``.
    ///
    /// The COPY ends, with `trailer` as its last data, at ``endOpenCopy()`` or before any other
    /// call on the connection, which then fails with the COPY's error if it failed. The server
    /// reports a rejected row only then.
    public func copyInKeepingOpen(_ sql: String, header: [UInt8], chunks: [[UInt8]], trailer: [UInt8], continuing: Bool,
                                  inOpenTransaction: Bool = false, onStart: (@Sendable () -> Void)? = nil) async throws(PostgresError) {
        try await run(keepingCopyOpen: true) { handle throws(PostgresError) in
            try handle.copyInKeepingOpen(sql, header: header, chunks: chunks, trailer: trailer, continuing: continuing,
                                         inOpenTransaction: inOpenTransaction, onStart: onStart)
        }
    }

    /// Ends the COPY left open by ``copyInKeepingOpen(_:header:chunks:trailer:continuing:inOpenTransaction:onStart:)``;
    /// returns the rows it copied, or nil when none was open.
    @discardableResult
    public func endOpenCopy() async throws(PostgresError) -> Int? {
        try await run(keepingCopyOpen: true) { handle throws(PostgresError) in try handle.endOpenCopy() }
    }

    /// Runs `sql`, which must be a `COPY … TO STDOUT`, and hands its data to `consume` in chunks;
    /// returns the rows copied.
    ///
    /// A chunk holds whole COPY data messages, never part of one: PostgreSQL sends one per row
    /// (in binary format the file header travels with the first row and the trailer alone), so
    /// a parser never sees a row split across chunks. A chunk is handed over once it reaches
    /// `chunkBytes`, and at the end, so memory stays within `chunkBytes` plus one row; the first
    /// chunks are smaller (``firstChunkBytes``, then twice the last), so that the first rows
    /// reach `consume` within milliseconds of the statement's start. When `consume` throws, the
    /// statement is cancelled, the rest is read and dropped, and `consume`'s error is rethrown.
    nonisolated(nonsending)
    public func copyOut(_ sql: String, chunkBytes: Int = 1 << 20, _ consume: ([UInt8]) async throws -> Void) async throws -> Int {
        try await run { handle throws(PostgresError) in try handle.beginCopyOut(sql) }
        let largest = max(1, chunkBytes)
        var next = min(largest, Self.firstChunkBytes)
        while true {
            let limit = next
            next = min(largest, next * 2)
            let (chunk, ended) = try await run { handle throws(PostgresError) in
                var chunk: [UInt8] = []
                chunk.reserveCapacity(limit + 64 * 1024)
                let ended = try handle.readCopyRows(into: &chunk, limit: limit)
                return (chunk, ended)
            }
            do {
                if !chunk.isEmpty { try await consume(chunk) }
            } catch {
                if ended {
                    _ = try? await run { handle throws(PostgresError) in try handle.finishCopyOut() }
                } else {
                    _ = try? await run(cancelling: true) { handle throws(PostgresError) in handle.abandonCopyOut() }
                }
                throw error
            }
            if ended { return try await run { handle throws(PostgresError) in try handle.finishCopyOut() } }
        }
    }

    /// The most bytes of ``copyOut(_:chunkBytes:_:)``'s first chunk.
    public static let firstChunkBytes = 64 << 10
}
