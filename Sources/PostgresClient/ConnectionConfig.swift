/// Where and as whom to connect: a libpq connection string, discrete fields, or both.
///
/// The connection string (a key/value DSN such as `host=db port=5432 dbname=app` or a
/// `postgresql://` URI) is expanded by libpq; the discrete fields and ``options`` then override
/// or extend it. ``applicationName`` and ``connectTimeoutSeconds`` are defaults that a
/// connection string may override. The client encoding is always UTF-8.
public struct ConnectionConfig: Sendable {
    /// A libpq connection string (DSN or URI), or a plain database name.
    public var connectionString: String?
    /// Host name, IP address or Unix socket directory.
    public var host: String?
    /// TCP port.
    public var port: Int?
    /// Database name.
    public var database: String?
    /// User name.
    public var user: String?
    /// Password. Never shown by ``redactedDescription`` or in errors.
    public var password: String?
    /// libpq `sslmode` (`disable`, `allow`, `prefer`, `require`, `verify-ca`, `verify-full`).
    public var sslmode: String?
    /// Any other libpq keyword (for example `sslrootcert` or `options`), applied last.
    public var options: [String: String]
    /// The `application_name` the server shows in `pg_stat_activity`.
    public var applicationName: String
    /// libpq `connect_timeout`, in seconds, for each host tried.
    public var connectTimeoutSeconds: Int
    /// Server settings (`lock_timeout`, `statement_timeout`, …) applied with `set_config`
    /// right after connecting, as bound parameters; a value the server rejects fails the
    /// connect with its error.
    public var sessionSettings: [String: String] = [:]

    /// A configuration from any mix of a connection string and discrete fields.
    public init(connectionString: String? = nil, host: String? = nil, port: Int? = nil, database: String? = nil,
                user: String? = nil, password: String? = nil, sslmode: String? = nil, options: [String: String] = [:],
                applicationName: String = "sluice", connectTimeoutSeconds: Int = 10) {
        self.connectionString = connectionString
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.sslmode = sslmode
        self.options = options
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }
}
