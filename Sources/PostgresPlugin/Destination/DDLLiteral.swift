/// String literals for DDL, which takes no parameters (an enum's labels, a column's default).
enum DDLLiteral {
    /// `text` as `E'…'`: backslashes mean the same whatever `standard_conforming_strings` says;
    /// NUL, which no PostgreSQL text holds, is removed.
    static func of(_ text: String) -> String {
        var quoted = "E'"
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\0": continue
            case "\\": quoted += "\\\\"
            case "'": quoted += "''"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "'"
    }
}
