/// Settings of the source role (Discover and Read).
struct SourceSettings: Sendable {
    /// Schemas to include; empty means every schema the user can see, minus system schemas.
    var schemas: [String]
    /// Table patterns with globs: `public.*` includes, `!public.tmp_*` excludes.
    var tables: TablePatterns
    /// `consistent`: one exported snapshot shared by every stream and connection of a Read.
    /// `per_stream`: each stream in its own snapshot.
    var snapshot: String
    /// When a Read sends a state between batches.
    var checkpoints: CheckpointPolicy

    init(_ reader: inout ConfigReader) {
        schemas = reader.stringArray("schemas")
        do throws(TablePatterns.Invalid) {
            tables = try TablePatterns(reader.stringArray("tables"))
        } catch {
            tables = reader.problem("tables[\(error.index)]", error.message) ?? .all
        }
        snapshot = reader.choice("snapshot", allowed: ["consistent", "per_stream"], default: "consistent")
        checkpoints = CheckpointPolicy(interval: reader.duration("checkpoint_interval", default: CheckpointPolicy.defaultInterval),
                                       bytes: reader.integer("checkpoint_bytes", default: CheckpointPolicy.defaultBytes, range: 0...1 << 40))
    }

    static var schemaProperties: [String: Any] { [
        "schemas": ["type": "array", "items": ["type": "string"],
                    "description": "Source: schemas to include. Default: every schema the user can see, minus system schemas."],
        "tables": ["type": "array", "items": ["type": "string"],
                   "description": "Source: table patterns with globs, e.g. \"public.*\" to include and \"!public.tmp_*\" to exclude. Double quotes make a part literal, as in SQL (\"my schema\".\"dot.ted\"); a backslash makes the next character literal (dot\\.ted, \\!bang)."],
        "snapshot": ["type": "string", "enum": ["consistent", "per_stream"], "default": "consistent",
                     "description": "Source: consistent = every stream of a Read sees one snapshot (REPEATABLE READ, exported snapshot); per_stream = a snapshot per stream."],
        "checkpoint_interval": ["type": ["string", "number"], "default": "1s",
                                "description": "Source: a state (a resume point, which a destination commits with the rows it covers) follows a batch once this long has passed since the last one, or checkpoint_bytes were sent; 0 = after every batch. A stream always ends with one."],
        "checkpoint_bytes": ["type": "integer", "minimum": 0, "maximum": 1 << 40, "default": CheckpointPolicy.defaultBytes,
                             "description": "Source: a state follows a batch once this many bytes of rows were sent since the last one (or checkpoint_interval passed); 0 = after every batch."],
    ] }
}
