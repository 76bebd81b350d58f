extension ConnectionConfig {
    /// `host=… port=… dbname=… user=…` (and `sslmode` when set) from the connection string and
    /// fields, for messages and logs: never a password or the connection string itself.
    public var redactedDescription: String {
        guard let settings = mergedSettings() else { return "(a connection string libpq cannot parse)" }
        let shown = ["host", "hostaddr", "port", "dbname", "user", "sslmode"].compactMap { keyword in
            settings[keyword].map { "\(keyword)=\($0)" }
        }
        return shown.isEmpty ? "(libpq defaults)" : shown.joined(separator: " ")
    }

    /// Every secret this configuration holds, for scrubbing text before it is shown: the
    /// password and `sslpassword` from the fields, ``options`` and the connection string (as
    /// libpq reads it and as written in a URI), or the whole connection string when libpq cannot
    /// parse it.
    public var secrets: [String] {
        var found = [password, options["password"], options["sslpassword"]].compactMap { $0 }
        if let connectionString, Self.isConnectionString(connectionString) {
            if let parsed = Conninfo.parse(connectionString) {
                found += Self.secretKeywords.compactMap { parsed[$0] }
                found += Self.uriPassword(connectionString).map { [$0] } ?? []
            } else {
                found.append(connectionString)
            }
        }
        return Redaction.normalised(found)
    }

    /// The password of a `postgres[ql]://user:password@host` URI as written (still
    /// percent-encoded), if there is one; found the way libpq finds it (first `@` before `/`).
    static func uriPassword(_ uri: String) -> String? {
        guard let scheme = uri.range(of: "://") else { return nil }
        let rest = uri[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        guard let at = authority.firstIndex(of: "@") else { return nil }
        let userinfo = authority[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return nil }
        let password = userinfo[userinfo.index(after: colon)...]
        return password.isEmpty ? nil : String(password)
    }
}
