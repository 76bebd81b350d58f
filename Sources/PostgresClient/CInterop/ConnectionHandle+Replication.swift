import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

extension ConnectionHandle {
    /// `text` as an SQL string literal, quoted by `PQescapeLiteral` for this connection's
    /// encoding (for the simple query protocol, the only one a replication connection speaks).
    func escapeLiteral(_ text: String) throws(PostgresError) -> String {
        let conn = try open()
        try checkStatement(text)
        guard let escaped = PQescapeLiteral(conn, text, text.utf8.count) else {
            throw clientError(.invalidArgument, context: "libpq could not quote a literal")
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// Sends `sql` (simple protocol) and checks that it started CopyBoth (`START_REPLICATION`).
    func beginCopyBoth(_ sql: String) throws(PostgresError) {
        let conn = try open()
        try checkStatement(sql)
        guard let result = ResultHandle(PQexec(conn, sql)) else {
            throw clientError(.protocolViolation, context: "libpq returned no result")
        }
        let status = result.status
        if status == PGRES_COPY_BOTH { return }
        if status == PGRES_FATAL_ERROR { throw failure(result) }
        _ = consume result
        if status == PGRES_COPY_IN || status == PGRES_COPY_OUT { leaveCopy(status, reason: "wrong COPY direction") }
        throw PostgresError(kind: .protocolViolation, message: "the statement did not start replication (CopyBoth)", secrets: secrets)
    }

    /// Reads the CopyData messages that have arrived, waiting up to `waitMilliseconds` for the
    /// first one on the socket (`PQgetCopyData` in async mode plus `poll`), and returns them
    /// once `maxMessages` or `maxBytes` are reached or nothing more is buffered. `ended` is
    /// true when the server ended the COPY; its closing results are read then (an error among
    /// them is thrown).
    func receiveCopyBoth(maxMessages: Int, maxBytes: Int, waitMilliseconds: Int) throws(PostgresError) -> (messages: [[UInt8]], ended: Bool) {
        let conn = try open()
        var messages: [[UInt8]] = []
        var bytes = 0
        var waited = false
        while messages.count < maxMessages && bytes < maxBytes {
            var row: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(conn, &row, 1)
            if length > 0, let row {
                messages.append(UnsafeRawPointer(row).withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                    Array(UnsafeBufferPointer(start: $0, count: Int(length)))
                })
                PQfreemem(row)
                bytes += Int(length)
                continue
            }
            if let row { PQfreemem(row) }
            if length == -1 {
                let (_, error) = drainResults()
                if let error { throw error }
                return (messages, true)
            }
            guard length == 0 else {
                let (_, error) = drainResults()
                throw error ?? clientError(.copyFailed, context: "reading replication data failed")
            }
            if !messages.isEmpty || waited { break }
            waited = true
            try waitReadable(conn, milliseconds: waitMilliseconds)
            guard PQconsumeInput(conn) == 1 else { throw clientError(.connectionLost, context: "reading replication data failed") }
        }
        return (messages, false)
    }

    /// Waits until the socket is readable or `milliseconds` have passed.
    private func waitReadable(_ conn: OpaquePointer, milliseconds: Int) throws(PostgresError) {
        guard Self.waitReadable(PQsocket(conn), milliseconds: max(0, milliseconds)) else {
            throw clientError(.connectionLost, context: "waiting for replication data failed")
        }
    }

    /// Sends one CopyData message and flushes it to the server.
    func sendCopyBothMessage(_ bytes: [UInt8]) throws(PostgresError) {
        let conn = try open()
        try putCopyData(bytes)
        guard PQflush(conn) == 0 else { throw clientError(.connectionLost, context: "sending replication status failed") }
    }

    /// Ends CopyBoth from this side (CopyDone), drops what the server still sends until it ends
    /// too, then reads the closing results. The connection is closed when the server does not
    /// end within `waitMilliseconds`.
    func endCopyBoth(waitMilliseconds: Int) throws(PostgresError) {
        let conn = try open()
        guard PQputCopyEnd(conn, nil) == 1, PQflush(conn) == 0 else {
            throw clientError(.connectionLost, context: "ending replication failed")
        }
        let deadline = ContinuousClock.now + .milliseconds(waitMilliseconds)
        while ContinuousClock.now < deadline {
            let (_, ended) = try receiveCopyBoth(maxMessages: 10_000, maxBytes: 1 << 24, waitMilliseconds: 100)
            if ended { return }
        }
        finish()
        throw PostgresError(kind: .connectionLost, message: "the server did not end replication in time; the connection was closed", secrets: secrets)
    }
}
