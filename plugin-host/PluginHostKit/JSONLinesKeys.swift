/// The member names of a JSON Lines row (PROTOCOL.md Appendix A): `_stream`, `_op` and
/// `_unchanged` are the row's metadata; every other member is a column. A column whose name is
/// `_stream`, `_op` or `_unchanged` preceded by any number of underscores travels with one more
/// leading underscore, so that every column name has exactly one key and no column can pass
/// for metadata.
enum JSONLinesKeys {
    static let stream = "_stream"
    static let operation = "_op"
    /// The columns whose value a CDC row leaves unchanged (PROTOCOL.md §5.9), by name.
    static let unchanged = "_unchanged"

    /// The member name of the column `name`.
    static func key(forColumn name: String) -> String {
        isReservedOrEscaped(name) ? "_" + name : name
    }

    /// The column named by the member `key`; nil for the metadata keys.
    static func column(forKey key: String) -> String? {
        if key == stream || key == operation || key == unchanged { return nil }
        return isReservedOrEscaped(key) && key.hasPrefix("__") ? String(key.dropFirst()) : key
    }

    /// Whether `name` is `_stream`, `_op` or `_unchanged` with zero or more extra leading underscores.
    private static func isReservedOrEscaped(_ name: String) -> Bool {
        let rest = name.drop { $0 == "_" }
        return rest.count < name.count && (rest == "stream" || rest == "op" || rest == "unchanged")
    }
}
