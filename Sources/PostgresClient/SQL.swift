/// Quoting of SQL identifiers. Values never go through here: bind them as parameters.
public enum SQL {
    /// `name` as a double-quoted identifier with inner double quotes doubled, safe for any text
    /// (quotes, spaces, unicode). PostgreSQL identifiers cannot hold NUL, so NUL characters are
    /// removed rather than reported.
    public static func quoteIdentifier(_ name: String) -> String {
        var quoted = "\""
        quoted.reserveCapacity(name.utf8.count + 2)
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\0": continue
            case "\"": quoted += "\"\""
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        quoted += "\""
        return quoted
    }

    /// `"schema"."name"`, each part quoted by ``quoteIdentifier(_:)``.
    public static func quoteQualified(schema: String, name: String) -> String {
        quoteIdentifier(schema) + "." + quoteIdentifier(name)
    }
}
