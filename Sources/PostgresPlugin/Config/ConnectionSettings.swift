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
    var sslmode: SSLMode?
    /// TLS files (libpq `sslrootcert`, `sslcert`, `sslkey`): paths on the plugin's machine.
    var tlsFiles: [TLSFile: String] = [:]
    /// The schema written to (destination) or the default schema read from.
    var schema: String
    /// `log_level`; nil follows the host's level (`plugin-host --log-level`).
    var logLevel: LogLevel?
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

        var setting: Setting<String?> {
            switch self {
            case .rootCertificate:
                .string(rawValue, minLength: 1, "libpq sslrootcert: path of the CA certificate(s) that verify-ca and verify-full check the server's certificate against (default ~/.postgresql/root.crt).")
            case .clientCertificate:
                .string(rawValue, minLength: 1, "libpq sslcert: path of the client certificate, for servers that authenticate clients by certificate.")
            case .clientKey:
                .string(rawValue, minLength: 1, "libpq sslkey: path of the client certificate's private key (unencrypted; mode 0600, or 0640 when owned by root).")
            }
        }
    }

    /// libpq's `sslmode`s.
    enum SSLMode: String, SettingChoice {
        case disable, allow, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full"

        /// The modes that keep a token off the network in clear text.
        static let encrypted: Set<String> = [require.rawValue, verifyCA.rawValue, verifyFull.rawValue]
    }

    /// `log_level`'s names.
    enum LogLevel: String, SettingChoice {
        case error, warn, info, debug, trace

        var loggerLevel: Logger.Level {
            switch self {
            case .error: .error
            case .warn: .warning
            case .info: .info
            case .debug: .debug
            case .trace: .trace
            }
        }
    }

    /// The default `lock_timeout`: long enough for ordinary row and DDL locks held by other
    /// work, short enough that a session never queues for long behind a lock (a waiting
    /// ACCESS EXCLUSIVE request blocks every later reader of the table too).
    static let defaultLockTimeoutSeconds = 60.0

    static let connectionStringSetting = Setting<String?>.string(
        "connection_string", secret: true,
        "libpq connection string: key/value DSN (\"host=localhost port=5432 dbname=app user=sluice password=… sslmode=require\") or URI (\"postgresql://sluice:…@localhost:5432/app?sslmode=require\"). Any libpq parameter works. Discrete fields below override it.")
    static let hostSetting = Setting<String?>.string("host", "Server host name, IP address, or Unix socket directory.")
    static let portSetting = Setting<Int?>.integer("port", shownDefault: 5432, range: 1...65535, "Server port.")
    static let databaseSetting = Setting<String?>.string("database", "Database name.")
    static let userSetting = Setting<String?>.string("user", "User name.")
    static let passwordSetting = Setting<String?>.string(
        "password", secret: true, "Password. Prefer ${ENV_VAR} expansion over writing it in a file.")
    static let sslmodeSetting = Setting<SSLMode?>.choice("sslmode", shownDefault: .prefer, "libpq sslmode.")
    static let schemaSetting = Setting<String>.string(
        "schema", default: "public", "Destination: the schema tables are written to (created when missing). Source: the default schema.")
    static let logLevelSetting = Setting<LogLevel?>.choice(
        "log_level", shownDefault: nil,
        "Plugin log verbosity (default: the host's level, e.g. plugin-host --log-level; the host's level also caps it). No level ever logs secrets.")
    static let lockTimeoutSetting = Setting<Double>.duration(
        "lock_timeout", default: defaultLockTimeoutSeconds,
        "PostgreSQL lock_timeout for every session of the plugin (e.g. 60s, 500ms, 2m; a number is seconds; 0 waits forever). A lock not granted in time fails the call with LOCK_TIMEOUT (retryable).")
    static let statementTimeoutSetting = Setting<Double>.duration(
        "statement_timeout", default: 0,
        "PostgreSQL statement_timeout for every session of the plugin (e.g. 30m; 0, the default, is no limit: a full read is one long COPY). A statement over it fails the call with STATEMENT_TIMEOUT (retryable).")

    init(_ reader: inout ConfigReader, environment: [String: String]) {
        connectionString = reader.read(Self.connectionStringSetting)
        host = reader.read(Self.hostSetting)
        port = reader.read(Self.portSetting)
        database = reader.read(Self.databaseSetting)
        user = reader.read(Self.userSetting)
        password = reader.read(Self.passwordSetting)
        sslmode = reader.read(Self.sslmodeSetting)
        for file in TLSFile.allCases {
            if let path = reader.read(file.setting) { tlsFiles[file] = path }
        }
        schema = reader.read(Self.schemaSetting)
        logLevel = reader.read(Self.logLevelSetting)
        lockTimeoutMilliseconds = Self.timeout(&reader, Self.lockTimeoutSetting)
        statementTimeoutMilliseconds = Self.timeout(&reader, Self.statementTimeoutSetting)
        if connectionString == nil && host == nil && database == nil && user == nil {
            reader.problem("connection_string", "give a connection_string or the discrete fields host, port, database, user, password") as Void?
        }
        if schema.isEmpty { reader.problem("schema", "must not be empty") as Void? }
        sshTunnel = SSHTunnelSettings.read(&reader)
        if sshTunnel != nil, host == nil {
            reader.problem("host", "ssh_tunnel needs the database host (as the bastion reaches it) in the host field") as Void?
        }
        readAuth(&reader, environment: environment)
    }

    /// A server timeout setting in whole milliseconds, within what PostgreSQL accepts.
    private static func timeout(_ reader: inout ConfigReader, _ setting: Setting<Double>) -> Int {
        let milliseconds = (reader.read(setting) * 1000).rounded()
        guard milliseconds <= Double(Int32.max) else {
            return reader.problem(setting.key, "must be at most \(Int32.max) ms (about 24 days); 0 turns it off") ?? 0
        }
        return Int(milliseconds)
    }

    /// `log_level` as a swift-log level; nil when not set (the host's level applies).
    var loggerLevel: Logger.Level? { logLevel?.loggerLevel }

    /// The libpq configuration: discrete fields override what the connection string says.
    var connectionConfig: ConnectionConfig {
        var options: [String: String] = [:]
        if let sslmode { options["sslmode"] = sslmode.rawValue }
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
}
