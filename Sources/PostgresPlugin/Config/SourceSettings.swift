/// Settings of the source role (Discover and Read).
struct SourceSettings: Sendable {
    /// Schemas to include; empty means every schema the user can see, minus system schemas.
    var schemas: [String]
    /// Table patterns with globs: `public.*` includes, `!public.tmp_*` excludes.
    var tables: TablePatterns
    /// `consistent`: one exported snapshot shared by every stream and connection of a Read.
    /// `per_stream`: each stream in its own snapshot.
    var snapshot: String

    init(_ reader: inout ConfigReader) {
        schemas = reader.stringArray("schemas")
        do throws(TablePatterns.Invalid) {
            tables = try TablePatterns(reader.stringArray("tables"))
        } catch {
            tables = reader.problem("tables[\(error.index)]", error.message) ?? .all
        }
        snapshot = reader.choice("snapshot", allowed: ["consistent", "per_stream"], default: "consistent")
    }

    static var schemaProperties: [String: Any] { [
        "schemas": ["type": "array", "items": ["type": "string"],
                    "description": "Source: schemas to include. Default: every schema the user can see, minus system schemas."],
        "tables": ["type": "array", "items": ["type": "string"],
                   "description": "Source: table patterns with globs, e.g. \"public.*\" to include and \"!public.tmp_*\" to exclude. Double quotes make a part literal, as in SQL (\"my schema\".\"dot.ted\"); a backslash makes the next character literal (dot\\.ted, \\!bang)."],
        "snapshot": ["type": "string", "enum": ["consistent", "per_stream"], "default": "consistent",
                     "description": "Source: consistent = every stream of a Read sees one snapshot (REPEATABLE READ, exported snapshot); per_stream = a snapshot per stream."],
    ] }
}
