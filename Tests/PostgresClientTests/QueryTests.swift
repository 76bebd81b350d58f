import PostgresClient
import SluiceTestSupport
import Testing

@Suite("Queries")
struct QueryTests {
    @Test("text, NULL, unicode and binary parameters round-trip")
    func parameters() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let unicode = "héllo \"wörld\" ✓ 🐘 'quoted' \\ back"
        let result = try await connection.execute(
            "SELECT $1::text AS t, $2::int AS n, $3::text IS NULL AS isnull, $4::text AS u, char_length($4::text) AS len, $5::bytea AS b, $6::int4 AS i, $7::bytea AS empty",
            [.text("plain"), .text("42"), .null, .text(unicode), .binary([0, 1, 2, 255], oid: 17), .binary([0, 0, 1, 0], oid: 23), .binary([], oid: 17)])
        #expect(result.rows.count == 1)
        #expect(result[0, "t"] == "plain")
        #expect(result[0, "n"] == "42")
        #expect(result[0, "isnull"] == "t")
        #expect(result[0, "u"] == unicode)
        #expect(result[0, "len"] == String(unicode.count))
        #expect(result[0, "b"] == "\\x000102ff")
        #expect(result[0, "i"] == "256")
        #expect(result[0, "empty"] == "\\x")
        #expect(result.columns.map(\.typeOID) == [25, 23, 16, 25, 23, 17, 23, 17])
    }

    @Test("NULL values come back as nil and affected rows are counted")
    func nullsAndAffectedRows() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE items (id int, name text)")
        let insert = try await connection.execute("INSERT INTO items VALUES (1, NULL), (2, 'b'), (3, 'c')")
        #expect(insert.affectedRows == 3)
        #expect(insert.commandTag == "INSERT 0 3")
        let update = try await connection.execute("UPDATE items SET name = $1 WHERE id >= $2", [.text("z"), .text("2")])
        #expect(update.affectedRows == 2)
        let rows = try await connection.execute("SELECT id, name FROM items ORDER BY id").rows
        #expect(rows == [["1", nil], ["2", "z"], ["3", "z"]])
    }

    @Test("commit() commits an open transaction, and throws rolledBack when the transaction had failed")
    func commitOfAFailedTransaction() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE t (x int PRIMARY KEY)")
        _ = try await connection.execute("BEGIN")
        _ = try await connection.execute("INSERT INTO t VALUES (1)")
        try await connection.commit()
        // A statement fails; PostgreSQL then answers COMMIT by rolling back, without an error.
        _ = try await connection.execute("BEGIN")
        _ = try await connection.execute("INSERT INTO t VALUES (2)")
        let duplicate = await expectPostgresError { _ = try await connection.execute("INSERT INTO t VALUES (1)") }
        #expect(duplicate?.sqlState == "23505")
        let rolledBack = await expectPostgresError { try await connection.commit() }
        #expect(rolledBack?.kind == .rolledBack)
        #expect(try await connection.execute("SELECT array_agg(x ORDER BY x)::text FROM t").rows == [["{1}"]])
        // Outside a transaction block the server would only warn: nothing is sent.
        let none = await expectPostgresError { try await connection.commit() }
        #expect(none?.kind == .transactionNotOpen)
        #expect(connection.isAlive)
    }

    @Test("a syntax error carries SQLSTATE 42601 and its position")
    func syntaxError() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let error = await expectPostgresError { _ = try await connection.execute("SELEC 1") }
        #expect(error?.kind == .server)
        #expect(error?.sqlState == "42601")
        #expect(error?.position == 1)
        #expect(error?.isRetryable == false)
        #expect(connection.isAlive)
        #expect(try await connection.execute("SELECT 'still usable'").rows == [["still usable"]])
    }

    @Test("prepare fails fast with the server's message")
    func prepareFails() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        try await connection.prepare(name: "ok_statement", sql: "SELECT $1::int + 1")
        let error = await expectPostgresError {
            try await connection.prepare(name: "bad_statement", sql: "SELECT 1 FROM pg_class WHERE (no_such_column > 3)")
        }
        #expect(error?.sqlState == "42703")
        #expect(error?.message.contains("no_such_column") == true)
    }

    @Test("a text parameter with NUL is rejected before it is sent")
    func nulInText() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let error = await expectPostgresError { _ = try await connection.execute("SELECT $1::text", [.text("a\u{0}b")]) }
        #expect(error?.kind == .invalidArgument)
        #expect(connection.isAlive)
    }

    @Test("executeScript runs several statements; execute refuses them")
    func script() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let last = try await connection.executeScript("CREATE TEMP TABLE s (x int); INSERT INTO s VALUES (1), (2); SELECT sum(x) FROM s")
        #expect(last.rows == [["3"]])
        let error = await expectPostgresError { _ = try await connection.execute("SELECT 1; SELECT 2") }
        #expect(error?.sqlState == "42601")
    }

    @Test("execute of a COPY statement fails and leaves the connection usable")
    func copyThroughExecute() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE c (x int)")
        for sql in ["COPY c FROM STDIN", "COPY (SELECT generate_series(1, 100000)) TO STDOUT"] {
            let error = await expectPostgresError { _ = try await connection.execute(sql) }
            #expect(error?.kind == .copyFailed)
            #expect(try await connection.execute("SELECT count(*) FROM c").rows == [["0"]])
        }
    }

    @Test("server notices go to onNotice")
    func notices() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let notices = Collector<String>()
        connection.onNotice = { notices.append($0) }
        _ = try await connection.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$")
        #expect(notices.values.count == 1)
        #expect(notices.values.first?.contains("hello 42") == true)
        #expect(notices.values.first?.hasSuffix("\n") == false)
        connection.onNotice = nil
        _ = try await connection.execute("DO $$ BEGIN RAISE NOTICE 'dropped'; END $$")
        #expect(notices.values.count == 1)
    }

    @Test("quoted identifiers name any table")
    func quotedIdentifiers() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let name = "we\"ird name ✓ \u{0}; DROP TABLE x; --"
        let stored = name.replacingOccurrences(of: "\u{0}", with: "")
        _ = try await connection.execute("CREATE TEMP TABLE \(SQL.quoteIdentifier(name)) (\(SQL.quoteIdentifier("co\"l")) int)")
        _ = try await connection.execute("INSERT INTO \(SQL.quoteIdentifier(name)) VALUES (7)")
        let rows = try await connection.execute("SELECT relname FROM pg_class WHERE relname = $1", [.text(stored)]).rows
        #expect(rows == [[stored]])
        let schema = try await connection.execute("SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()").rows[0][0] ?? ""
        let value = try await connection.execute("SELECT \(SQL.quoteIdentifier("co\"l")) FROM \(SQL.quoteQualified(schema: schema, name: name))")
        #expect(value.rows == [["7"]])
    }
}
