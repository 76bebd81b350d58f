import PostgresClient
import Testing

@Suite("Redaction and quoting")
struct RedactionTests {
    @Test("a URI's password is hidden and listed as a secret")
    func uriPassword() {
        let config = ConnectionConfig(connectionString: "postgresql://alice:s3cr%40t@db.example.com:6543/app?sslmode=require")
        let description = config.redactedDescription
        #expect(description == "host=db.example.com port=6543 dbname=app user=alice sslmode=require")
        #expect(!description.contains("s3cr"))
        #expect(config.secrets.contains("s3cr@t"))
        #expect(config.secrets.contains("s3cr%40t"))
    }

    @Test("a DSN's password is hidden; fields override it")
    func dsnPassword() {
        let config = ConnectionConfig(connectionString: "host=a port=1 dbname=d user=u password='pa ss' sslpassword=keypass",
                                      host: "b", password: "field-pw", options: ["sslmode": "verify-full"])
        #expect(config.redactedDescription == "host=b port=1 dbname=d user=u sslmode=verify-full")
        #expect(Set(config.secrets) == ["pa ss", "keypass", "field-pw"])
    }

    @Test("discrete fields alone")
    func fieldsOnly() {
        let config = ConnectionConfig(host: "h", port: 5433, database: "db", user: "me", password: "pw")
        #expect(config.redactedDescription == "host=h port=5433 dbname=db user=me")
        #expect(config.secrets == ["pw"])
        #expect(ConnectionConfig().redactedDescription == "(libpq defaults)")
        #expect(ConnectionConfig(connectionString: "plaindb").redactedDescription == "dbname=plaindb")
    }

    @Test("identifiers are quoted with inner quotes doubled and NUL removed")
    func quoting() {
        #expect(SQL.quoteIdentifier("plain") == "\"plain\"")
        #expect(SQL.quoteIdentifier("a\"b") == "\"a\"\"b\"")
        #expect(SQL.quoteIdentifier("\"") == "\"\"\"\"")
        #expect(SQL.quoteIdentifier("sp ace ✓") == "\"sp ace ✓\"")
        #expect(SQL.quoteIdentifier("n\u{0}ul") == "\"nul\"")
        #expect(SQL.quoteQualified(schema: "s\"", name: "t") == "\"s\"\"\".\"t\"")
    }
}
