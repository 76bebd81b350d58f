import PostgresClient
import SluiceTestSupport
import Testing

@Suite("Connecting")
struct ConnectTests {
    @Test("connects and runs a query")
    func connectAndSelect() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let result = try await connection.execute("SELECT 1 + 1 AS two, current_setting('application_name') AS app")
        #expect(result.columns == [ResultColumn(name: "two", typeOID: 23), ResultColumn(name: "app", typeOID: 25)])
        #expect(result.rows == [["2", "sluice-tests"]])
        #expect(result[0, "two"] == "2")
        #expect(result.commandTag == "SELECT 1")
        #expect(connection.serverVersionNumber >= 140000)
        #expect(connection.isAlive)
    }

    @Test("close makes later calls fail with connectionClosed")
    func closeThenCall() async throws {
        let connection = try await TestDatabase.connect()
        connection.close()
        #expect(!connection.isAlive)
        let error = await expectPostgresError { _ = try await connection.execute("SELECT 1") }
        #expect(error?.kind == .connectionClosed)
    }

    @Test("discrete fields override the connection string")
    func fieldsOverrideConnectionString() async throws {
        let config = TestDatabase.config {
            $0.connectionString = "postgresql://nobody@127.0.0.1:1/no_such_database?application_name=from-uri"
            $0.database = TestDatabase.config().database ?? "postgres"
        }
        let connection = try await PostgresConnection.connect(config)
        defer { connection.close() }
        let result = try await connection.execute("SELECT current_user, current_setting('application_name')")
        #expect(result.rows.first?.first == TestDatabase.config().user ?? "postgres")
        #expect(result.rows.first?.last == "from-uri")
    }

    @Test("a wrong password is authenticationFailed")
    func wrongPassword() async throws {
        let password = randomToken("wrong-pw-")
        let error = await expectPostgresError { _ = try await PostgresConnection.connect(TestDatabase.config { $0.password = password }) }
        #expect(error?.kind == .authenticationFailed)
        #expect(error?.isRetryable == false)
        #expect(!String(describing: error).contains(password))
    }

    @Test("a secret the server echoes back is scrubbed from the error")
    func echoedSecretIsScrubbed() async throws {
        // The user name equals the password, so the server's "password authentication failed
        // for user …" repeats the secret; only scrubbing keeps it out.
        let secret = randomToken("secret-")
        let uri = "postgresql://\(secret):\(secret)@\(TestDatabase.config().host ?? "127.0.0.1"):\(TestDatabase.config().port ?? 5432)/postgres"
        for config in [TestDatabase.config { $0.user = secret; $0.password = secret },
                       ConnectionConfig(connectionString: uri)] {
            let error = await expectPostgresError { _ = try await PostgresConnection.connect(config) }
            #expect(error?.kind == .authenticationFailed)
            let text = String(describing: error)
            #expect(!text.contains(secret))
            #expect(text.contains("***"))
        }
    }

    @Test("an unknown database is unknownDatabase")
    func unknownDatabase() async throws {
        let error = await expectPostgresError {
            _ = try await PostgresConnection.connect(TestDatabase.config { $0.database = randomToken("no_such_db_") })
        }
        #expect(error?.kind == .unknownDatabase)
    }

    @Test("an unreachable port is connectionFailed and retryable")
    func unreachablePort() async throws {
        let error = await expectPostgresError {
            _ = try await PostgresConnection.connect(TestDatabase.config { $0.host = "127.0.0.1"; $0.port = 1 })
        }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.isRetryable == true)
    }

    @Test("an unknown host name is dnsFailed")
    func badHostName() async throws {
        let error = await expectPostgresError {
            _ = try await PostgresConnection.connect(TestDatabase.config { $0.host = "no-such-host.invalid" })
        }
        #expect(error?.kind == .dnsFailed)
    }

    @Test("sslmode=require against a server without TLS is tlsFailed",
          .enabled("needs a test server without TLS (PostgreSQL 15 of the matrix has TLS on; TLSTests cover it)") {
              guard let connection = try? await TestDatabase.connect() else { return true }
              defer { connection.close() }
              return try await connection.execute("SHOW ssl").rows.first?.first == "off"
          })
    func tlsRequired() async throws {
        let error = await expectPostgresError {
            _ = try await PostgresConnection.connect(TestDatabase.config { $0.sslmode = "require" })
        }
        #expect(error?.kind == .tlsFailed)
    }

    @Test("a connection string libpq cannot parse is invalidConfiguration, without its text")
    func unparseableConnectionString() async throws {
        let config = ConnectionConfig(connectionString: "host=localhost password=hunter2hunter2 dbname")
        let error = await expectPostgresError { _ = try await PostgresConnection.connect(config) }
        #expect(error?.kind == .invalidConfiguration)
        #expect(!String(describing: error).contains("hunter2"))
        #expect(!config.redactedDescription.contains("hunter2"))
    }
}
