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
    /// The SSH bastion to connect through, when configured.
    var sshTunnel: SSHTunnelSettings?
    /// While a tunnel runs: its local port on 127.0.0.1, which connections then use as
    /// `hostaddr` and `port` (`host` stays the database's name, for TLS verification).
    var tunnelPort: Int?

    /// The TLS file settings, named as libpq names them.
    enum TLSFile: String, CaseIterable, Sendable {
        case rootCertificate = "sslrootcert"
        case clientCertificate = "sslcert"
        case clientKey = "sslkey"
    }

    static let sslmodes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
    static let logLevels = ["error", "warn", "info", "debug", "trace"]

    init(_ reader: inout ConfigReader) {
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
        if connectionString == nil && host == nil && database == nil && user == nil {
            reader.problem("connection_string", "give a connection_string or the discrete fields host, port, database, user, password") as Void?
        }
        if schema.isEmpty { reader.problem("schema", "must not be empty") as Void? }
        sshTunnel = SSHTunnelSettings(&reader)
        if sshTunnel != nil, host == nil {
            reader.problem("host", "ssh_tunnel needs the database host (as the bastion reaches it) in the host field") as Void?
        }
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
        return ConnectionConfig(connectionString: connectionString, host: host, port: port, database: database,
                                user: user, password: password, options: options)
    }

    static var schemaProperties: [String: Any] {
        SSHTunnelSettings.schemaProperties.merging([
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
        ]) { first, _ in first }
    }
}
