import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

extension ConnectionHandle {
    /// Sends `sql` and checks that it started a COPY FROM STDIN.
    func beginCopyIn(_ sql: String) throws(PostgresError) {
        try beginCopy(sql, expecting: PGRES_COPY_IN)
    }

    /// Sends `sql` and checks that it started a COPY TO STDOUT.
    func beginCopyOut(_ sql: String) throws(PostgresError) {
        try beginCopy(sql, expecting: PGRES_COPY_OUT)
    }

    /// Sends `sql` and checks that it started the COPY direction `expected`.
    private func beginCopy(_ sql: String, expecting expected: ExecStatusType) throws(PostgresError) {
        let conn = try open()
        try checkStatement(sql)
        guard let result = ResultHandle(PQexec(conn, sql)) else {
            throw clientError(.protocolViolation, context: "libpq returned no result")
        }
        let status = result.status
        if status == expected { return }
        if status == PGRES_FATAL_ERROR { throw failure(result) }
        _ = consume result
        if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH { leaveCopy(status, reason: "wrong COPY direction") }
        let wanted = expected == PGRES_COPY_IN ? "COPY … FROM STDIN" : "COPY … TO STDOUT"
        throw PostgresError(kind: .copyFailed, message: "the statement did not start \(wanted)", secrets: secrets)
    }

    /// Sends COPY data with `PQputCopyData`, in pieces of at most 1 GiB.
    func putCopyData(_ bytes: [UInt8]) throws(PostgresError) {
        let conn = try open()
        let piece = 1 << 30
        var start = 0
        while start < bytes.count {
            let end = min(start + piece, bytes.count)
            let sent = bytes.withUnsafeBufferPointer { buffer in
                UnsafeRawPointer(buffer.baseAddress! + start).withMemoryRebound(to: CChar.self, capacity: end - start) {
                    PQputCopyData(conn, $0, Int32(end - start))
                }
            }
            guard sent == 1 else { throw clientError(.copyFailed, context: "sending COPY data failed") }
            start = end
        }
    }

    /// Sends `sql` (statements ending with a `COPY … FROM STDIN`), `chunks` as the COPY's data,
    /// and ends it; returns the rows copied. A failed send ends the COPY (aborted) and throws.
    /// `inOpenTransaction`: first checks that a transaction block is open and has not failed,
    /// else throws ``PostgresError/Kind/transactionNotOpen`` having sent nothing. `onStart` is
    /// called once that check has passed, before anything is sent.
    func copyIn(_ sql: String, chunks: [[UInt8]], inOpenTransaction: Bool = false, onStart: (() -> Void)? = nil) throws(PostgresError) -> Int {
        if inOpenTransaction { try checkOpenTransaction() }
        onStart?()
        try beginCopyIn(sql)
        for chunk in chunks where !chunk.isEmpty { try putOrAbort(chunk) }
        return try endCopyIn(abortMessage: nil)
    }

    /// Sends `chunks` into a COPY FROM STDIN kept open between calls. `continuing`: into the
    /// one open, which must run `sql` (else nothing is sent and
    /// ``PostgresError/Kind/transactionNotOpen`` is thrown); otherwise into a new one (after
    /// ending any open one), whose data begins with `header`, with `inOpenTransaction` and
    /// `onStart` as in ``copyIn(_:chunks:inOpenTransaction:onStart:)``. `trailer` ends the data
    /// when the COPY is ended (``endOpenCopy()``). A failed send ends the COPY (aborted).
    func copyInKeepingOpen(_ sql: String, header: [UInt8], chunks: [[UInt8]], trailer: [UInt8], continuing: Bool,
                           inOpenTransaction: Bool, onStart: (() -> Void)?) throws(PostgresError) {
        if continuing {
            guard openCopy?.sql == sql else {
                throw PostgresError(kind: .transactionNotOpen, message: "no COPY open to continue: the rows were not sent", secrets: [])
            }
            onStart?()
        } else {
            if openCopy != nil { _ = try endOpenCopy() }
            if inOpenTransaction { try checkOpenTransaction() }
            onStart?()
            try beginCopyIn(sql)
            openCopy = OpenCopy(sql: sql, trailer: trailer)
            if !header.isEmpty { try putOrAbort(header) }
        }
        for chunk in chunks where !chunk.isEmpty { try putOrAbort(chunk) }
    }

    /// Ends the COPY left open by ``copyInKeepingOpen(_:header:chunks:trailer:continuing:inOpenTransaction:onStart:)``,
    /// sending its trailer first; returns the rows it copied, or nil when none was open.
    func endOpenCopy() throws(PostgresError) -> Int? {
        guard let open = openCopy else { return nil }
        openCopy = nil
        try putOrAbort(open.trailer, closing: false)
        return try endCopyIn(abortMessage: nil)
    }

    /// Throws ``PostgresError/Kind/transactionNotOpen`` unless a transaction block is open and
    /// has not failed: a COPY that must continue one is then not sent.
    private func checkOpenTransaction() throws(PostgresError) {
        guard PQtransactionStatus(try open()) == PQTRANS_INTRANS else {
            throw PostgresError(kind: .transactionNotOpen, message: "no open transaction to continue (none, or a failed one): the COPY was not sent", secrets: [])
        }
    }

    /// ``putCopyData(_:)``; a failure ends the COPY (aborted), leaving the connection usable, and
    /// the send's error is the one thrown. `closing`: forgets the COPY left open, if any.
    private func putOrAbort(_ bytes: [UInt8], closing: Bool = true) throws(PostgresError) {
        do throws(PostgresError) {
            try putCopyData(bytes)
        } catch {
            if closing { openCopy = nil }
            _ = try? endCopyIn(abortMessage: "COPY aborted by the client")
            throw error
        }
    }

    /// Ends a COPY FROM STDIN, successfully or (with `abortMessage`, which the server reports
    /// back) aborted, then reads every remaining result; returns the rows copied.
    func endCopyIn(abortMessage: String?) throws(PostgresError) -> Int {
        let conn = try open()
        let ended = PQputCopyEnd(conn, abortMessage) == 1
        let (rows, error) = drainResults()
        if let error { throw error }
        guard ended else { throw clientError(.copyFailed, context: "ending COPY failed") }
        return rows
    }

    /// Appends whole COPY rows (one `PQgetCopyData` message each) to `buffer` until it holds at
    /// least `limit` bytes or the COPY ends; true when it ended. A failure ends the COPY.
    ///
    /// Reads in libpq's async mode and, once rows are flowing and nothing whole is left to read,
    /// waits on the socket itself with a low-water mark (``CopyOutWait``): a reader faster than
    /// the server then wakes once per `lowWaterBytes` instead of once per packet the server sends
    /// (about 8 kB), sparing the cores it shares with the server the switches in and out. The
    /// first wait of a call wakes on any byte: a query's first rows, or a small table, never
    /// wait for the timeout.
    func readCopyRows(into buffer: inout [UInt8], limit: Int) throws(PostgresError) -> Bool {
        let conn = try open()
        let socket = PQsocket(conn)
        var ended = false, failed = socket < 0
        /// True when input was read since the last whole row: nothing more waits in the socket.
        var inputRead = false
        var lowWaterSet = false
        while !failed && buffer.count < limit {
            var row: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(conn, &row, 1)
            if length > 0, let row {
                UnsafeRawPointer(row).withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                    buffer.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length)))
                }
                PQfreemem(row)
                inputRead = false
                continue
            }
            if let row { PQfreemem(row) }
            if length == -1 { ended = true; break }
            guard length == 0 else { failed = true; break }
            if inputRead {
                if !lowWaterSet && !buffer.isEmpty {
                    Self.setLowWater(socket, bytes: CopyOutWait.lowWaterBytes)
                    lowWaterSet = true
                }
                guard Self.waitReadable(socket, milliseconds: lowWaterSet ? CopyOutWait.maxWaitMilliseconds : -1) else {
                    failed = true
                    break
                }
            }
            guard PQconsumeInput(conn) == 1 else { failed = true; break }
            inputRead = true
        }
        // Back to waking on any byte before libpq waits again itself (results, errors, queries).
        if lowWaterSet { Self.setLowWater(socket, bytes: 1) }
        if failed {
            let (_, error) = drainResults()
            throw error ?? clientError(.copyFailed, context: "reading COPY data failed")
        }
        return ended
    }

    /// Reads the results after a COPY TO STDOUT ended; returns the rows copied.
    func finishCopyOut() throws(PostgresError) -> Int {
        let (rows, error) = drainResults()
        if let error { throw error }
        return rows
    }

    /// Throws away what is left of a COPY TO STDOUT (after a cancel request) and its results.
    func abandonCopyOut() {
        leaveCopy(PGRES_COPY_OUT, reason: "")
        _ = drainResults()
    }

    /// Reads results until libpq has none left, getting out of any COPY state met on the way;
    /// returns the last affected-row count and the first error.
    func drainResults() -> (rows: Int, error: PostgresError?) {
        var rows = 0
        var firstError: PostgresError?
        var copyStatesSeen = 0
        while let conn, let result = ResultHandle(PQgetResult(conn)) {
            let status = result.status
            switch status {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
                rows = result.affectedRows
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                _ = consume result
                copyStatesSeen += 1
                guard copyStatesSeen <= 3 else {
                    finish()
                    return (rows, firstError ?? PostgresError(kind: .connectionLost, message: "libpq could not leave COPY mode; the connection was closed", secrets: secrets))
                }
                leaveCopy(status, reason: "COPY abandoned by the client")
            case PGRES_EMPTY_QUERY:
                break
            default:
                if firstError == nil { firstError = failure(result) }
            }
        }
        return (rows, firstError)
    }

    /// Gets libpq out of a COPY state: ends COPY IN with `reason` as abort message, reads COPY
    /// OUT data to its end. COPY BOTH (replication only) cannot be left, so the connection is
    /// closed.
    func leaveCopy(_ status: ExecStatusType, reason: String) {
        guard let conn else { return }
        switch status {
        case PGRES_COPY_IN:
            _ = PQputCopyEnd(conn, reason)
        case PGRES_COPY_OUT:
            while true {
                var row: UnsafeMutablePointer<CChar>?
                let length = PQgetCopyData(conn, &row, 0)
                if let row { PQfreemem(row) }
                if length < 0 { break }
            }
        default:
            finish()
        }
    }
}

/// A COPY FROM STDIN open between calls: its statement, and the data that ends it.
struct OpenCopy {
    var sql: String
    var trailer: [UInt8]
}
