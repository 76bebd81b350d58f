import Logging
import PostgresClient

/// Where and as whom to connect: a libpq connection string, or discrete fields.
struct ConnectionSettings: Sendable {
    var connectionString: String?
    var host: String?
    var port: Int?
    var database: String?
    var user: String?
    var password: String?
    var sslmode: String?
    /// TLS files (libpq `sslrootcert`, `sslcert`, `sslkey`): paths on the plugin's machine.
    var tlsFiles: [TLSFile: String] = [:]
    /// The schema written to (destination) or the default schema read from.
    var schema: String
    var logLevel: String
    /// PostgreSQL's `lock_timeout` for every session, in milliseconds; 0 waits forever.
    var lockTimeoutMilliseconds: Int
    /// PostgreSQL's `statement_timeout` for every session, in milliseconds; 0 is no limit.
    var statementTimeoutMilliseconds: Int
    /// The SSH bastion to connect through, when configured.
    var sshTunnel: SSHTunnelSettings?
    /// While a tunnel runs: its local port on 127.0.0.1, which connections then use as
    /// `hostaddr` and `port` (`host` stays the database's name, for TLS verification).
    var tunnelPort: Int?
    /// `auth`: a password (the default), or a cloud identity whose tokens are the password.
    var auth = AuthSettings()

    /// The TLS file settings, named as libpq names them.
    enum TLSFile: String, CaseIterable, Sendable {
        case rootCertificate = "sslrootcert"
        case clientCertificate = "sslcert"
        case clientKey = "sslkey"
    }

    static let sslmodes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
    static let logLevels = ["error", "warn", "info", "debug", "trace"]
    /// The default `lock_timeout`: long enough for ordinary row and DDL locks held by other
    /// work, short enough that a session never queues for long behind a lock (a waiting
    /// ACCESS EXCLUSIVE request blocks every later reader of the table too).
    static let defaultLockTimeoutSeconds = 60.0

    init(_ reader: inout ConfigReader, environment: [String: String]) {
        connectionString = reader.string("connection_string")
        host = reader.string("host")
        port = reader.has("port") ? reader.integer("port", default: 5432, range: 1...65535) : nil
        database = reader.string("database")
        user = reader.string("user")
        password = reader.string("password")
        sslmode = reader.has("sslmode") ? reader.choice("sslmode", allowed: Self.sslmodes, default: "prefer") : nil
        for file in TLSFile.allCases {
            guard let path = reader.string(file.rawValue) else { continue }
            if path.isEmpty { reader.problem(file.rawValue, "must not be empty") as Void? } else { tlsFiles[file] = path }
        }
        schema = reader.string("schema", default: "public")
        logLevel = reader.choice("log_level", allowed: Self.logLevels, default: "info")
        lockTimeoutMilliseconds = Self.timeout(&reader, "lock_timeout", default: Self.defaultLockTimeoutSeconds)
        statementTimeoutMilliseconds = Self.timeout(&reader, "statement_timeout", default: 0)
        if connectionString == nil && host == nil && database == nil && user == nil {
            reader.problem("connection_string", "give a connection_string or the discrete fields host, port, database, user, password") as Void?
        }
        if schema.isEmpty { reader.problem("schema", "must not be empty") as Void? }
        sshTunnel = SSHTunnelSettings(&reader)
        if sshTunnel != nil, host == nil {
            reader.problem("host", "ssh_tunnel needs the database host (as the bastion reaches it) in the host field") as Void?
        }
        readAuth(&reader, environment: environment)
    }

    /// A server timeout setting in whole milliseconds, within what PostgreSQL accepts.
    private static func timeout(_ reader: inout ConfigReader, _ key: String, default fallback: Double) -> Int {
        let milliseconds = (reader.duration(key, default: fallback) * 1000).rounded()
        guard milliseconds <= Double(Int32.max) else {
            return reader.problem(key, "must be at most \(Int32.max) ms (about 24 days); 0 turns it off") ?? 0
        }
        return Int(milliseconds)
    }

    /// `log_level` as a swift-log level.
    var loggerLevel: Logger.Level {
        switch logLevel {
        case "error": .error
        case "warn": .warning
        case "debug": .debug
        case "trace": .trace
        default: .info
        }
    }

    /// The libpq configuration: discrete fields override what the connection string says.
    var connectionConfig: ConnectionConfig {
        var options: [String: String] = [:]
        if let sslmode { options["sslmode"] = sslmode }
        for (file, path) in tlsFiles { options[file.rawValue] = path }
        if let tunnelPort {
            options["hostaddr"] = "127.0.0.1"
            options["port"] = String(tunnelPort)
        }
        var config = ConnectionConfig(connectionString: connectionString, host: host, port: port, database: database,
                                      user: user, password: password, options: options)
        config.sessionSettings = ["lock_timeout": "\(lockTimeoutMilliseconds)ms", "statement_timeout": "\(statementTimeoutMilliseconds)ms"]
        return config
    }

    /// ``connectionConfig`` for a connection opened now: with a cloud identity, its password is
    /// a token with enough life left (fetched or made when needed); errors name the identity and
    /// the token endpoint, never a secret.
    func authenticatedConfig() async throws -> ConnectionConfig {
        var config = connectionConfig
        if let credentials = auth.credentials { config.password = try await credentials.password() }
        return config
    }

    static var schemaProperties: [String: Any] {
        SSHTunnelSettings.schemaProperties.merging(AuthSettings.schemaProperties) { first, _ in first }.merging([
            "connection_string": [
                "type": "string", "secret": true, "writeOnly": true,
                "description": "libpq connection string: key/value DSN (\"host=localhost port=5432 dbname=app user=sluice password=… sslmode=require\") or URI (\"postgresql://sluice:…@localhost:5432/app?sslmode=require\"). Any libpq parameter works. Discrete fields below override it.",
            ],
            "host": ["type": "string", "description": "Server host name, IP address, or Unix socket directory."],
            "port": ["type": "integer", "minimum": 1, "maximum": 65535, "default": 5432, "description": "Server port."],
            "database": ["type": "string", "description": "Database name."],
            "user": ["type": "string", "description": "User name."],
            "password": ["type": "string", "secret": true, "writeOnly": true, "description": "Password. Prefer ${ENV_VAR} expansion over writing it in a file."],
            "sslmode": ["type": "string", "enum": sslmodes, "default": "prefer", "description": "libpq sslmode."],
            TLSFile.rootCertificate.rawValue: ["type": "string", "minLength": 1, "description": "libpq sslrootcert: path of the CA certificate(s) that verify-ca and verify-full check the server's certificate against (default ~/.postgresql/root.crt)."],
            TLSFile.clientCertificate.rawValue: ["type": "string", "minLength": 1, "description": "libpq sslcert: path of the client certificate, for servers that authenticate clients by certificate."],
            TLSFile.clientKey.rawValue: ["type": "string", "minLength": 1, "description": "libpq sslkey: path of the client certificate's private key (unencrypted; mode 0600, or 0640 when owned by root)."],
            "schema": ["type": "string", "default": "public", "description": "Destination: the schema tables are written to (created when missing). Source: the default schema."],
            "log_level": ["type": "string", "enum": logLevels, "default": "info", "description": "Plugin log verbosity. No level ever logs secrets."],
            "lock_timeout": ["type": ["string", "number"], "default": "60s",
                             "description": "PostgreSQL lock_timeout for every session of the plugin (e.g. 60s, 500ms, 2m; a number is seconds; 0 waits forever). A lock not granted in time fails the call with LOCK_TIMEOUT (retryable)."],
            "statement_timeout": ["type": ["string", "number"], "default": "0",
                                  "description": "PostgreSQL statement_timeout for every session of the plugin (e.g. 30m; 0, the default, is no limit: a full read is one long COPY). A statement over it fails the call with STATEMENT_TIMEOUT (retryable)."],
        ]) { first, _ in first }
    }
}
