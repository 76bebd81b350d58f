import CLibPQ

/// Reading libpq's connection option arrays (`PQconninfoOption`).
enum Conninfo {
    /// The settings a connection string spells out, or nil when libpq cannot parse it. libpq's
    /// parse error is dropped: it may quote part of the string, password included.
    static func parse(_ connectionString: String) -> [String: String]? {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let options = PQconninfoParse(connectionString, &errorMessage)
        if let errorMessage { PQfreemem(errorMessage) }
        guard let options else { return nil }
        defer { PQconninfoFree(options) }
        return settings(options)
    }

    /// The settings a connection actually used, defaults, environment and password file included.
    static func inUse(_ conn: OpaquePointer) -> [String: String] {
        guard let options = PQconninfo(conn) else { return [:] }
        defer { PQconninfoFree(options) }
        return settings(options)
    }

    /// The keyword/value pairs with a value, from an array ended by a NULL keyword.
    private static func settings(_ options: UnsafeMutablePointer<PQconninfoOption>) -> [String: String] {
        var settings: [String: String] = [:]
        var index = 0
        while let keyword = options[index].keyword {
            if let value = options[index].val { settings[String(cString: keyword)] = String(cString: value) }
            index += 1
        }
        return settings
    }
}
