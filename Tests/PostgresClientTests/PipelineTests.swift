import PostgresClient
import SluiceTestSupport
import Testing

@Suite("Pipeline mode")
struct PipelineTests {
    @Test("1,000 parameter sets are inserted in one pipeline")
    func thousandInserts() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE p (id int PRIMARY KEY, name text, data bytea)")
        let sets: [[PostgresValue]] = (1...1000).map { [.text(String($0)), $0 % 10 == 0 ? .null : .text("row \($0) ✓"), .binary([UInt8($0 % 256)], oid: 17)] }
        let inserted = try await connection.executePipelined("INSERT INTO p VALUES ($1, $2, $3)", parameterSets: sets)
        #expect(inserted == 1000)
        let summary = try await connection.execute("SELECT count(*), count(name), sum(id), sum(get_byte(data, 0)) FROM p")
        #expect(summary.rows == [["1000", "900", "500500", String((1...1000).reduce(0) { $0 + $1 % 256 })]])
        #expect(try await connection.executePipelined("INSERT INTO p VALUES ($1)", parameterSets: []) == 0)
        #expect(connection.isAlive)
    }

    @Test("the first error fails the pipeline and nothing is applied")
    func firstErrorWins() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE p (id int PRIMARY KEY)")
        var sets: [[PostgresValue]] = (1...1000).map { [.text(String($0))] }
        sets[600] = [.text("5")]
        sets[800] = [.text("not a number")]
        let error = await expectPostgresError {
            _ = try await connection.executePipelined("INSERT INTO p VALUES ($1)", parameterSets: sets)
        }
        #expect(error?.kind == .server)
        #expect(error?.sqlState == "23505")
        #expect(connection.isAlive)
        #expect(try await connection.execute("SELECT count(*) FROM p").rows == [["0"]])
    }

    @Test("a parameter set libpq cannot send fails the pipeline before anything is sent")
    func invalidSetFailsUpFront() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try await connection.execute("CREATE TEMP TABLE p (name text)")
        var sets: [[PostgresValue]] = (1...600).map { [.text("row \($0)")] }
        sets[500] = [.text("nul \u{0} inside")]
        let error = await expectPostgresError {
            _ = try await connection.executePipelined("INSERT INTO p VALUES ($1)", parameterSets: sets)
        }
        #expect(error?.kind == .invalidArgument)
        #expect(connection.isAlive)
        #expect(try await connection.execute("SELECT count(*) FROM p").rows == [["0"]])
    }
}
