extension PostgresError {
    /// Classifies libpq's message for a failed connection attempt.
    ///
    /// libpq 15 reports no SQLSTATE for connection failures (``sqlState`` stays nil), so this
    /// reads the (English) text outside quoted names: host name resolution first, then
    /// authentication (wrong password, unknown role, pg_hba.conf rejection: 28P01/28000),
    /// unknown database (3D000), TLS, and otherwise a plain connection failure (refused,
    /// timed out, too many clients, …).
    static func connectFailure(_ libpqMessage: String, secrets: [String]) -> PostgresError {
        let text = withoutQuotedNames(libpqMessage.lowercased())
        let kind: Kind
        if text.contains("could not translate host name") || text.contains("name or service not known") {
            kind = .dnsFailed
        } else if text.contains("password authentication failed") || text.contains("authentication failed for user")
                    || text.contains("no password supplied") || text.contains("pg_hba.conf")
                    || text.contains("role \"\" does not exist") {
            kind = .authenticationFailed
        } else if text.contains("database \"\" does not exist") {
            kind = .unknownDatabase
        } else if text.contains("ssl") || text.contains("tls") || text.contains("certificate") {
            kind = .tlsFailed
        } else {
            kind = .connectionFailed
        }
        return PostgresError(kind: kind, message: libpqMessage, secrets: secrets)
    }

    /// `text` with the contents of every double-quoted part removed, so that a host, user or
    /// database name (which libpq quotes) cannot look like one of the phrases matched above.
    private static func withoutQuotedNames(_ text: String) -> String {
        var result = ""
        var inside = false
        for character in text {
            if character == "\"" {
                inside.toggle()
                result.append(character)
            } else if !inside {
                result.append(character)
            }
        }
        return result
    }
}
