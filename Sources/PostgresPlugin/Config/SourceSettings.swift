/// Settings of the source role (Discover and Read).
struct SourceSettings: Sendable {
    /// Schemas to include; empty means every schema the user can see, minus system schemas.
    var schemas: [String]
    /// Table patterns with globs: `public.*` includes, `!public.tmp_*` excludes.
    var tables: TablePatterns
    /// How the streams of a Read share snapshots.
    var snapshot: SnapshotScope
    /// When a Read sends a state between batches.
    var checkpoints: CheckpointPolicy
    /// Whether a large table is read in ranges on several connections at once (`split_tables`).
    var splitTables: Bool
    /// A full refresh of a smaller table is read in one pass (`resumable_read_min_bytes`).
    var resumableReadMinBytes: Int

    /// `snapshot`'s names.
    enum SnapshotScope: String, SettingChoice {
        /// One exported snapshot shared by every stream and connection of a Read.
        case consistent
        /// Each stream in its own snapshot.
        case perStream = "per_stream"
    }

    static let schemasSetting = Setting<[String]>.strings(
        "schemas", "Source: schemas to include. Default: every schema the user can see, minus system schemas.")
    static let tablesSetting = Setting<[String]>.strings(
        "tables", "Source: table patterns with globs, e.g. \"public.*\" to include and \"!public.tmp_*\" to exclude. Double quotes make a part literal, as in SQL (\"my schema\".\"dot.ted\"); a backslash makes the next character literal (dot\\.ted, \\!bang).")
    static let snapshotSetting = Setting<SnapshotScope>.choice(
        "snapshot", default: .consistent,
        "Source: consistent = every stream of a Read sees one snapshot (REPEATABLE READ, exported snapshot); per_stream = a snapshot per stream.")
    static let checkpointIntervalSetting = Setting<Double>.duration(
        "checkpoint_interval", default: CheckpointPolicy.defaultInterval,
        "Source: a state (a resume point, which a destination commits with the rows it covers) follows a batch once this long has passed since the last one, or checkpoint_bytes were sent; 0 = after every batch. A stream always ends with one.")
    static let checkpointBytesSetting = Setting<Int>.integer(
        "checkpoint_bytes", default: CheckpointPolicy.defaultBytes, range: 0...1 << 40,
        "Source: a state follows a batch once this many bytes of rows were sent since the last one (or checkpoint_interval passed); 0 = after every batch.")

    static let splitTablesSetting = Setting<Bool>.bool(
        "split_tables", default: false,
        "Source: read a large table (128 blocks or more per range) in ranges of its primary key (or of its blocks) on several connections at once, up to max_connections. Off: every table is read on one connection (a read resumed from a state holding several ranges still reads them all), and max_connections reads tables side by side. Splitting helps only a consumer faster than one reading backend: a PostgreSQL destination loading the ranges into one table gets two ascending key sequences, which leave the lower range's index pages half full.")

    /// `resumable_read_min_bytes`' default: a table smaller than it takes a few seconds to read.
    static let defaultResumableReadMinBytes = 256 << 20
    static let resumableReadMinBytesSetting = Setting<Int>.integer(
        "resumable_read_min_bytes", default: defaultResumableReadMinBytes, range: 0...1 << 40,
        "Source: a full refresh of a table or materialized view at least this large (pg_table_size when the read starts) is read resumably: in primary-key order (physical order without a key) with a state every checkpoint_interval or checkpoint_bytes, so an interrupted read resumes where it stopped. A smaller one (a few seconds of reading) is read in one sequential scan, in physical order, whose only state is its last: an interrupted read reads it again, and the server does about a third less work than reading it through its primary key index. Also resumable whatever its size: a read with a limit, and one resuming an interrupted read's state. 0 = every table resumable.")

    init(_ reader: inout ConfigReader) {
        schemas = reader.read(Self.schemasSetting)
        do throws(TablePatterns.Invalid) {
            tables = try TablePatterns(reader.read(Self.tablesSetting))
        } catch {
            tables = reader.problem("tables[\(error.index)]", error.message) ?? .all
        }
        snapshot = reader.read(Self.snapshotSetting)
        checkpoints = CheckpointPolicy(interval: reader.read(Self.checkpointIntervalSetting),
                                       bytes: reader.read(Self.checkpointBytesSetting))
        splitTables = reader.read(Self.splitTablesSetting)
        resumableReadMinBytes = reader.read(Self.resumableReadMinBytesSetting)
    }
}
