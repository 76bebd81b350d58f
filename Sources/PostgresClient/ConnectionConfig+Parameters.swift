extension ConnectionConfig {
    /// Keywords whose values are secrets.
    static let secretKeywords: Set<String> = ["password", "sslpassword"]

    /// Whether libpq treats `text` as a connection string rather than a database name.
    static func isConnectionString(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") || text.contains("=")
    }

    /// The keyword/value pairs for `PQconnectdbParams`, in the order libpq must read them:
    /// defaults, then the connection string (as the first `dbname`), then the discrete fields and
    /// ``options``, then the UTF-8 client encoding.
    func libpqParameters() throws(PostgresError) -> [(keyword: String, value: String)] {
        var parameters: [(keyword: String, value: String)] = [
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", applicationName),
        ]
        if let connectionString {
            if Self.isConnectionString(connectionString) && Conninfo.parse(connectionString) == nil {
                throw PostgresError(kind: .invalidConfiguration,
                                    message: "libpq cannot parse the connection string (its text is not shown because it may hold a password)",
                                    secrets: secrets)
            }
            parameters.append(("dbname", connectionString))
        }
        let fields: [(String, String?)] = [
            ("host", host), ("port", port.map(String.init)), ("dbname", database), ("user", user),
            ("password", password), ("sslmode", sslmode),
        ]
        for case let (keyword, value?) in fields { parameters.append((keyword, value)) }
        for keyword in options.keys.sorted() { parameters.append((keyword, options[keyword] ?? "")) }
        parameters.append(("client_encoding", "UTF8"))
        if parameters.contains(where: { $0.keyword.utf8.contains(0) || $0.value.utf8.contains(0) }) {
            throw PostgresError(kind: .invalidConfiguration, message: "a connection setting contains a NUL character", secrets: secrets)
        }
        return parameters
    }

    /// Whether `PQconnectdbParams` must expand the first `dbname` as a connection string.
    var expandsConnectionString: Bool { connectionString != nil }

    /// The settings the connection string holds (or its plain database name), then the
    /// discrete fields and ``options`` on top; nil when libpq cannot parse the string.
    func mergedSettings() -> [String: String]? {
        var settings: [String: String] = [:]
        if let connectionString {
            if Self.isConnectionString(connectionString) {
                guard let parsed = Conninfo.parse(connectionString) else { return nil }
                settings = parsed
            } else {
                settings["dbname"] = connectionString
            }
        }
        let fields: [(String, String?)] = [
            ("host", host), ("port", port.map(String.init)), ("dbname", database), ("user", user),
            ("password", password), ("sslmode", sslmode),
        ]
        for case let (keyword, value?) in fields { settings[keyword] = value }
        settings.merge(options) { _, new in new }
        return settings
    }
}

extension ConnectionConfig {
    /// The value libpq would use for `keyword` (`host`, `port`, `user`, `sslmode`, …) from the
    /// connection string, the discrete fields and ``options``; nil when none sets it, when libpq
    /// cannot parse the connection string, or when `keyword` names a secret.
    public func resolvedSetting(_ keyword: String) -> String? {
        guard !Self.secretKeywords.contains(keyword) else { return nil }
        return mergedSettings()?[keyword]
    }
}
