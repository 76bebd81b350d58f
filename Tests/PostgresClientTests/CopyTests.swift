import Foundation
import PostgresClient
import SluiceTestSupport
import Testing

@Suite("COPY")
struct CopyTests {
    struct Abort: Error {}

    @Test("COPY IN then COPY OUT round-trips text and binary format")
    func roundTrip() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.executeScript("""
            SET TimeZone = 'UTC';
            CREATE TEMP TABLE src (id int, name text, data bytea, at timestamptz);
            CREATE TEMP TABLE dst (LIKE src);
            """)
        var text = ""
        for id in 1...5000 {
            let hex = String(id % 256 + 256, radix: 16).dropFirst()
            text += id % 7 == 0 ? "\(id)\t\\N\t\\N\t\\N\n" : "\(id)\tname \(id) ✓\t\\\\x0a0b\(hex)\t2024-01-0\(id % 9 + 1) 12:00:00+00\n"
        }
        let copiedIn = try await connection.copyIn("COPY src FROM STDIN") { writer in
            let bytes = Array(text.utf8)
            // Uneven pieces: rows span send calls.
            var start = 0
            while start < bytes.count {
                let end = min(start + 65_537, bytes.count)
                try await writer.send(Array(bytes[start..<end]))
                start = end
            }
        }
        #expect(copiedIn == 5000)

        let textOut = Collector<[UInt8]>()
        let copiedOut = try await connection.copyOut("COPY src TO STDOUT") { textOut.append($0) }
        #expect(copiedOut == 5000)
        #expect(String(decoding: textOut.values.joined(), as: UTF8.self) == text)

        let binary = Collector<[UInt8]>()
        #expect(try await connection.copyOut("COPY src TO STDOUT (FORMAT binary)") { binary.append($0) } == 5000)
        let binaryIn = try await connection.copyIn("COPY dst FROM STDIN (FORMAT binary)") { writer in
            for chunk in binary.values { try await writer.send(chunk) }
        }
        #expect(binaryIn == 5000)
        let differences = try await connection.execute(
            "SELECT count(*) FROM ((TABLE src EXCEPT ALL TABLE dst) UNION ALL (TABLE dst EXCEPT ALL TABLE src)) d")
        #expect(differences.rows == [["0"]])
    }

    @Test("COPY OUT chunks hold whole text rows and stay near chunkBytes")
    func textChunksAreWholeRows() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let chunkBytes = 4096
        let chunks = Collector<[UInt8]>()
        let rows = try await connection.copyOut("COPY (SELECT i, repeat('x', i % 200) FROM generate_series(1, 20000) i) TO STDOUT",
                                                chunkBytes: chunkBytes) { chunks.append($0) }
        #expect(rows == 20000)
        let longestRow = 5 + 1 + 199 + 1
        #expect(chunks.values.count > 100)
        for chunk in chunks.values {
            #expect(chunk.last == UInt8(ascii: "\n"))
            #expect(chunk.count <= chunkBytes + longestRow)
        }
        let lines = String(decoding: chunks.values.joined(), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 20000)
        #expect(lines[199] == "200\t")
        #expect(lines[19999] == "20000\t" + String(repeating: "x", count: 20000 % 200))
    }

    @Test("COPY OUT's first chunks are smaller: 64 kB, then twice the one before, up to chunkBytes")
    func firstChunksRampUp() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let chunks = Collector<[UInt8]>()
        // About 4.5 MB of 220-byte rows.
        let rows = try await connection.copyOut("COPY (SELECT i, repeat('x', 210) FROM generate_series(100000, 120000) i) TO STDOUT") { chunks.append($0) }
        #expect(rows == 20001)
        let row = 6 + 1 + 210 + 1
        let sizes = chunks.values.map(\.count)
        #expect(sizes.count > 6)
        for (index, size) in sizes.enumerated() {
            let limit = min(1 << 20, PostgresConnection.firstChunkBytes << min(index, 10))
            #expect(size <= limit + row, "chunk \(index): \(size) bytes")
            if index < sizes.count - 1 { #expect(size >= limit, "chunk \(index): \(size) bytes") }
        }
        #expect(sizes.reduce(0, +) == 20001 * row)
    }

    @Test("COPY OUT chunks hold whole binary tuples")
    func binaryChunksAreWholeTuples() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let chunks = Collector<[UInt8]>()
        let rows = try await connection.copyOut(
            "COPY (SELECT i, repeat('y', i % 300), CASE WHEN i % 5 = 0 THEN NULL ELSE i::bigint END FROM generate_series(1, 10000) i) TO STDOUT (FORMAT binary)",
            chunkBytes: 3000) { chunks.append($0) }
        #expect(rows == 10000)
        var tuples = 0
        var sawTrailer = false
        for (index, chunk) in chunks.values.enumerated() {
            let parsed = try #require(BinaryCopyScan.tuples(in: chunk, withHeader: index == 0), "chunk \(index) splits a tuple")
            tuples += parsed.tuples
            sawTrailer = sawTrailer || parsed.trailer
        }
        #expect(tuples == 10000)
        #expect(sawTrailer)
    }

    @Test("an error thrown while writing aborts the COPY and leaves no rows")
    func abortedCopyIn() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE t (x int)")
        await #expect(throws: Abort.self) {
            _ = try await connection.copyIn("COPY t FROM STDIN") { writer in
                try await writer.send(Array("1\n2\n3\n".utf8))
                throw Abort()
            }
        }
        #expect(connection.isAlive)
        #expect(try await connection.execute("SELECT count(*) FROM t").rows == [["0"]])
    }

    @Test("bad COPY data fails with the server's error")
    func badCopyData() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE t (x int)")
        let error = await expectPostgresError {
            _ = try await connection.copyIn("COPY t FROM STDIN") { try await $0.send(Array("1\nnot a number\n".utf8)) }
        }
        #expect(error?.sqlState == "22P02")
        #expect(try await connection.execute("SELECT count(*) FROM t").rows == [["0"]])
    }

    @Test("an error thrown while consuming stops a long COPY OUT quickly")
    func abortedCopyOut() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: Abort.self) {
            _ = try await connection.copyOut("COPY (SELECT i, pg_sleep(0.0001) FROM generate_series(1, 1000000) i) TO STDOUT", chunkBytes: 1024) { _ in
                throw Abort()
            }
        }
        #expect(clock.now - start < .seconds(20))
        #expect(connection.isAlive)
        #expect(try await connection.execute("SELECT 5").rows == [["5"]])
    }

    @Test("COPY OUT rows that arrive one at a time (a slow query) all arrive, and the COPY ends")
    func slowCopyOut() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        // Far fewer bytes than the socket's low-water mark: every row is read after a wait's timeout.
        let chunks = Collector<[UInt8]>()
        let rows = try await connection.copyOut("COPY (SELECT g, pg_sleep(0.003) FROM generate_series(1, 200) g) TO STDOUT") { chunks.append($0) }
        #expect(rows == 200)
        let lines = String(decoding: chunks.values.joined(), as: UTF8.self).split(separator: "\n")
        let ids: [String] = lines.map { line in String(line.prefix { $0 != "\t" }) }
        let expected: [String] = (1...200).map { String($0) }
        #expect(ids == expected)
        #expect(try await connection.execute("SELECT 6").rows == [["6"]])
    }

    @Test("a COPY OUT failing after many rows throws the server's error; the next query answers")
    func copyOutFailsMidway() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let received = Collector<Int>()
        let error = await expectPostgresError {
            _ = try await connection.copyOut("COPY (SELECT g, 1 / (100000 - g) FROM generate_series(1, 200000) g) TO STDOUT", chunkBytes: 4096) {
                received.append($0.count)
            }
        }
        #expect(error?.sqlState == "22012")
        #expect(received.values.reduce(0, +) > 100_000)
        // A small answer after the COPY: its wait must wake on any byte again.
        #expect(try await connection.execute("SELECT 7").rows == [["7"]])
    }

    @Test("statements, a COPY's chunks and a follow-up run in one call")
    func copyInOneCall() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE t (x int)")
        _ = try await connection.execute("BEGIN")
        // A row spans the chunks; an empty chunk is skipped.
        let copied = try await connection.copyIn("SAVEPOINT s; COPY t FROM STDIN", chunks: [Array("1\n2".utf8), [], Array("\n3\n".utf8)],
                                                 followUp: "RELEASE SAVEPOINT s; SELECT count(*), sum(x) FROM t; SELECT 'last'")
        #expect(copied.rows == 3)
        // Every follow-up statement's result, in order.
        #expect(copied.followUp.map(\.rows) == [[], [["3", "6"]], [["last"]]])
        // The follow-up released the savepoint the first statement made.
        let released = await expectPostgresError { _ = try await connection.execute("ROLLBACK TO SAVEPOINT s") }
        #expect(released?.sqlState == "3B001")
        _ = try await connection.executeScript("ROLLBACK; BEGIN")
        #expect(try await connection.copyIn("COPY t FROM STDIN", chunks: [Array("4\n".utf8)]).rows == 1)
        _ = try await connection.execute("COMMIT")
        #expect(try await connection.execute("SELECT array_agg(x ORDER BY x)::text FROM t").rows == [["{4}"]])
    }

    @Test("a COPY that must continue an open transaction sends nothing without one, or after its failure")
    func copyInOpenTransactionOnly() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE t (x int PRIMARY KEY)")
        // No transaction: the COPY would commit on its own, so it is not sent (nor reported started).
        let started = Counter()
        let none = await expectPostgresError {
            _ = try await connection.copyIn("COPY t FROM STDIN", chunks: [Array("1\n".utf8)], inOpenTransaction: true, onStart: { started.add() })
        }
        #expect(none?.kind == .transactionNotOpen)
        #expect(started.value == 0)
        #expect(try await connection.execute("SELECT count(*) FROM t").rows == [["0"]])
        // An open transaction: it runs in it.
        _ = try await connection.execute("BEGIN")
        #expect(try await connection.copyIn("COPY t FROM STDIN", chunks: [Array("2\n".utf8)], inOpenTransaction: true,
                                            onStart: { started.add() }).rows == 1)
        #expect(started.value == 1)
        // A failed one (here a COPY that broke the key): nothing is sent; the session is still usable.
        let broken = await expectPostgresError { _ = try await connection.copyIn("COPY t FROM STDIN", chunks: [Array("2\n".utf8)]) }
        #expect(broken?.sqlState == "23505")
        let failed = await expectPostgresError {
            _ = try await connection.copyIn("COPY t FROM STDIN", chunks: [Array("3\n".utf8)], inOpenTransaction: true, onStart: { started.add() })
        }
        #expect(failed?.kind == .transactionNotOpen)
        #expect(started.value == 1)
        #expect(connection.isAlive)
        _ = try await connection.executeScript("ROLLBACK; BEGIN")
        #expect(try await connection.copyIn("COPY t FROM STDIN", chunks: [Array("4\n".utf8)], inOpenTransaction: true).rows == 1)
        _ = try await connection.execute("COMMIT")
        #expect(try await connection.execute("SELECT array_agg(x ORDER BY x)::text FROM t").rows == [["{4}"]])
    }

    @Test("a COPY that fails in one call throws the server's error, runs no follow-up, and leaves the session usable")
    func copyInOneCallFails() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.executeScript("CREATE TEMP TABLE t (x int PRIMARY KEY); INSERT INTO t VALUES (2)")
        _ = try await connection.execute("BEGIN")
        let error = await expectPostgresError {
            _ = try await connection.copyIn("SAVEPOINT s; COPY t FROM STDIN", chunks: [Array("1\n2\n".utf8), Array("3\n".utf8)],
                                            followUp: "RELEASE SAVEPOINT s")
        }
        #expect(error?.sqlState == "23505")
        #expect(connection.isAlive)
        // The savepoint is still there: the follow-up did not run.
        _ = try await connection.executeScript("ROLLBACK TO SAVEPOINT s; RELEASE SAVEPOINT s; COMMIT")
        #expect(try await connection.execute("SELECT array_agg(x ORDER BY x)::text FROM t").rows == [["{2}"]])
        let notCopy = await expectPostgresError { _ = try await connection.copyIn("SELECT 1", chunks: [Array("1\n".utf8)]) }
        #expect(notCopy?.kind == .copyFailed)
        #expect(try await connection.execute("SELECT 5").rows == [["5"]])
    }

    @Test("cancelling the task stops a one-call COPY waiting for a lock")
    func copyInOneCallCancelled() async throws {
        let connection = try await TestDatabase.connect()
        let locker = try await TestDatabase.connect()
        let observer = try await TestDatabase.connect()
        defer { connection.close(); locker.close(); observer.close() }
        let table = randomToken("copy_locked")
        try await locker.executeScript("CREATE TABLE \(table) (x int)")
        try await locker.executeScript("BEGIN; LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE")
        let pid = try #require(try await connection.execute("SELECT pg_backend_pid()").rows.first?.first ?? nil)
        let copying = Task { try await connection.copyIn("COPY \(table) FROM STDIN", chunks: [Array("1\n".utf8)], followUp: "SELECT 1") }
        try await waitForLockWait(pid: pid, on: observer)
        copying.cancel()
        let error = await expectPostgresError {
            _ = try await endOrHang(copying, onHang: { _ = try? await observer.execute("SELECT pg_cancel_backend($1::int)", [.text(pid)]) }).get()
        }
        #expect(error?.kind == .cancelled)
        #expect(try await connection.execute("SELECT 'after cancel'").rows == [["after cancel"]])
        try await locker.executeScript("ROLLBACK; DROP TABLE \(table)")
    }

    @Test("a COPY left open takes the rows of later calls as one statement, and ends before any other call")
    func copyLeftOpen() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE t (x int, name text)")
        _ = try await connection.execute("BEGIN")
        let copy = "COPY t FROM STDIN (FORMAT binary)"
        func row(_ x: Int32, _ name: String) -> [UInt8] {
            [0, 2, 0, 0, 0, 4] + withUnsafeBytes(of: x.bigEndian, Array.init) + withUnsafeBytes(of: Int32(name.utf8.count).bigEndian, Array.init) + Array(name.utf8)
        }
        let header = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], trailer: [UInt8] = [0xFF, 0xFF]
        // Continuing needs a COPY open: nothing is sent without one.
        let none = await expectPostgresError {
            try await connection.copyInKeepingOpen(copy, header: header, chunks: [row(0, "lost")], trailer: trailer, continuing: true)
        }
        #expect(none?.kind == .transactionNotOpen)
        let started = Counter()
        try await connection.copyInKeepingOpen(copy, header: header, chunks: [row(1, "a"), row(2, "b")], trailer: trailer, continuing: false,
                                               inOpenTransaction: true, onStart: { started.add() })
        try await connection.copyInKeepingOpen(copy, header: header, chunks: [row(3, "c")], trailer: trailer, continuing: true,
                                               onStart: { started.add() })
        #expect(started.value == 2)
        // Another statement ends the COPY first: it sees every row, all written by one command.
        #expect(try await connection.execute("SELECT count(*), count(DISTINCT cmin::text), string_agg(name, '' ORDER BY x) FROM t").rows == [["3", "1", "abc"]])
        #expect(try await connection.endOpenCopy() == nil)
        // Ended explicitly, it says how many rows it copied.
        try await connection.copyInKeepingOpen(copy, header: header, chunks: [row(4, "d")], trailer: trailer, continuing: false)
        try await connection.copyInKeepingOpen(copy, header: header, chunks: [row(5, "e"), row(6, "f")], trailer: trailer, continuing: true)
        #expect(try await connection.endOpenCopy() == 3)
        _ = try await connection.execute("COMMIT")
        #expect(try await connection.execute("SELECT count(*), count(DISTINCT cmin::text) FROM t").rows == [["6", "2"]])
    }

    @Test("a row refused by a COPY left open fails the COPY when it ends, at its line; the session stays usable")
    func copyLeftOpenRefusesARow() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE t (x int CHECK (x < 3))")
        _ = try await connection.execute("BEGIN")
        try await connection.copyInKeepingOpen("COPY t FROM STDIN", header: [], chunks: [Array("1\n2\n".utf8)], trailer: [], continuing: false)
        // The server refuses the row now, but says so only when the COPY ends.
        try await connection.copyInKeepingOpen("COPY t FROM STDIN", header: [], chunks: [Array("7\n".utf8), Array("2\n".utf8)], trailer: [], continuing: true)
        let refused = await expectPostgresError { _ = try await connection.endOpenCopy() }
        #expect(refused?.sqlState == "23514")
        #expect(refused?.context?.hasPrefix("COPY t, line 3") == true)
        #expect(connection.isAlive)
        _ = try await connection.execute("ROLLBACK")
        #expect(try await connection.execute("SELECT count(*) FROM t").rows == [["0"]])
    }

    @Test("the wrong COPY direction is refused")
    func wrongDirection() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE t (x int)")
        let error = await expectPostgresError { _ = try await connection.copyOut("COPY t FROM STDIN") { _ in } }
        #expect(error?.kind == .copyFailed)
        let notCopy = await expectPostgresError { _ = try await connection.copyIn("SELECT 1") { _ in } }
        #expect(notCopy?.kind == .copyFailed)
        #expect(try await connection.execute("SELECT count(*) FROM t").rows == [["0"]])
    }
}

/// Walks PostgreSQL binary COPY data (header, tuples, trailer) without trusting chunk edges.
enum BinaryCopyScan {
    /// The tuples in `bytes`, and whether it ends with the trailer; nil unless the bytes end
    /// exactly at a tuple boundary.
    static func tuples(in bytes: [UInt8], withHeader: Bool) -> (tuples: Int, trailer: Bool)? {
        var position = 0
        func int(_ width: Int) -> Int? {
            guard position + width <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[position..<position + width] { value = value << 8 | Int(byte) }
            position += width
            return width == 2 ? Int(Int16(truncatingIfNeeded: value)) : Int(Int32(truncatingIfNeeded: value))
        }
        if withHeader {
            guard bytes.starts(with: Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]) else { return nil }
            position = 11
            guard int(4) != nil, let extensionLength = int(4) else { return nil }
            position += extensionLength
        }
        var tuples = 0
        while position < bytes.count {
            guard let fields = int(2) else { return nil }
            if fields == -1 { return position == bytes.count ? (tuples, true) : nil }
            for _ in 0..<fields {
                guard let length = int(4) else { return nil }
                if length > 0 { position += length }
                guard position <= bytes.count else { return nil }
            }
            tuples += 1
        }
        return (tuples, false)
    }
}

/// Counts calls from any thread.
private final class Counter: @unchecked Sendable {
    // @unchecked: `count` is guarded by `lock`.
    private let lock = NSLock()
    private var count = 0

    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
