import Foundation
import PostgresClient
import SluiceWire

/// What one stream's read does: its columns, its checkpoint key and the SQL that reads it.
///
/// The checkpoint key is `(cursor, primary key or ctid)` for an incremental stream; for a full
/// refresh, the primary key (read in key order, one or more key ranges), else `ctid` for a
/// table or materialized view (read in physical order, one or more block ranges), and nothing
/// for a table read in one pass (``readsInOnePass(table:configured:state:)``) or another
/// relation (no mid-stream checkpoints). An unfinished ctid state of a table that has a
/// primary key (written by an older version) is resumed by ctid once.
///
/// An incremental read of a relation with row versions (``tracksVersions``) also reads every row
/// version its previous read's snapshot did not see, whatever its cursor (see ``ReadState``): a
/// state with a `snapshot` reads only those; a `run` in progress continues with the rows of its
/// own snapshot after its key. Without a snapshot (an older state, a view), rows after the key.
struct StreamPlan: Sendable {
    let table: SourceTable
    let columns: [SourceColumn]
    let incremental: Bool
    let keyColumns: [String]
    /// SQL type each key value is cast back to from its text.
    let keyTypes: [String]
    /// Key is ordered with ORDER BY (false: ctid in physical scan order).
    let ordered: Bool
    /// Incremental without a tiebreaker resumes with `>=` (rows at the saved cursor value are sent again).
    let inclusive: Bool
    let filter: String
    let limit: UInt64
    /// Incremental, without a snapshot: every row up to this key was sent.
    let resumeKey: [String?]?
    /// Incremental on a relation with row versions (a table, partitioned table or materialized
    /// view): states record snapshots and reads compare row versions (`xmin`) with them.
    let tracksVersions: Bool
    /// Incremental: every row version visible in this snapshot was sent.
    let baseSnapshot: SnapshotText?
    /// Incremental: a read in progress to continue (its key adapted to `keyColumns`).
    let resumeRun: RunPosition?
    /// Incremental: the saved key (the last one sent), carried into the next state.
    let previousKey: [String?]
    /// For a full refresh by ctid: the block ranges of an interrupted read, from the host's state.
    let resumeRanges: [CtidRange]?
    /// For a full refresh by primary key: the key ranges of an interrupted read, from the host's state.
    let resumeKeyRanges: [KeyRange]?
    /// For a full refresh with a `limit`: the rows the interrupted read it resumes had sent,
    /// which count toward the limit (``ReadState/sent``).
    let sentBefore: UInt64
    /// The rows go as PostgreSQL binary COPY tuples (PROTOCOL.md §5.12): the host allowed it
    /// for the stream, and every column is of a built-in type, selected as it is
    /// (``travelsAsIs(_:)``).
    let postgresRows: Bool

    var stream: StreamID { table.stream }

    /// Whether a column's values can travel as the server sends them in binary COPY to a
    /// destination column of the same type: a type of PostgreSQL's own (its oid below
    /// FirstNormalObjectId, 16384, so the same type on every server), selected without a cast.
    static func travelsAsIs(_ column: SourceColumn) -> Bool {
        column.plan.cast.isEmpty && column.userType == nil && column.typeOID > 0 && column.typeOID < 16384
    }
    var mode: String { incremental ? "incremental" : "full_refresh" }
    var usesCtid: Bool { keyColumns.contains("ctid") }
    /// A full refresh read in block ranges.
    var byCtid: Bool { !incremental && keyColumns == ["ctid"] }
    /// A full refresh read in primary-key ranges.
    var byKey: Bool { !incremental && !keyColumns.isEmpty && !usesCtid }
    var qualifiedName: String { SQL.quoteQualified(schema: table.schema, name: table.name) }

    /// Whether a full refresh of `table` may be read in one pass, a sequential scan with no
    /// state before its last, when the table is small (`resumable_read_min_bytes`): a table or
    /// materialized view read whole (no `limit`, whose rows would depend on the order) and not
    /// resuming an interrupted read's state.
    static func readsInOnePass(table: SourceTable, configured: ConfiguredStream, state: ReadState?) -> Bool {
        guard configured.syncMode == .fullRefresh, configured.limit == 0, table.hasCtid else { return false }
        guard let state, state.mode == "full_refresh" else { return true }
        return state.complete
    }

    /// `onePass`: read the table in one pass (it ``readsInOnePass(table:configured:state:)`` and is small).
    init(table: SourceTable, configured: ConfiguredStream, state: ReadState?, onePass: Bool = false) throws(PluginError) {
        self.table = table
        let stream = table.stream
        func configError(_ code: String, _ message: String) -> PluginError {
            PluginError(category: .config, code: code, message: "stream \(stream): \(message)", stream: stream)
        }
        guard table.readable else {
            throw configError("NOT_READABLE", "the user cannot read it; run: \(table.remedy)")
        }
        var selected: [SourceColumn] = []
        for name in configured.selectedColumns {
            guard let column = table.column(named: name) else { throw configError("UNKNOWN_COLUMN", "no column \(name)") }
            selected.append(column)
        }
        columns = selected.isEmpty ? table.columns : selected
        postgresRows = configured.postgresRows && configured.syncMode != .cdc && columns.allSatisfy(Self.travelsAsIs)
        incremental = configured.syncMode == .incremental
        filter = configured.filter.trimmingCharacters(in: .whitespacesAndNewlines)
        if let problem = FilterSyntax.problem(filter) {
            throw configError("INVALID_FILTER", "the filter must be one condition that stays inside its parentheses, but \(problem)")
        }
        guard configured.limit <= UInt64(Int64.max) else {
            throw configError("INVALID_LIMIT", "limit \(configured.limit) is over \(Int64.max), the largest LIMIT PostgreSQL takes")
        }
        limit = configured.limit
        var keys: [SourceColumn?] = []
        var ctidState: ReadState?
        if let state, !incremental, state.mode == "full_refresh", !state.complete, state.keyColumns == ["ctid"], !state.ranges.isEmpty {
            ctidState = state
        }
        if incremental {
            guard !configured.cursorField.isEmpty else { throw configError("NO_CURSOR", "incremental needs a cursor_field") }
            guard let cursor = table.column(named: configured.cursorField) else {
                throw configError("UNKNOWN_COLUMN", "no cursor column \(configured.cursorField)")
            }
            keys = [cursor]
            if !table.primaryKey.isEmpty {
                keys += table.primaryKey.map { table.column(named: $0) }
            } else if table.hasCtid {
                keys.append(nil)
            }
            ordered = true
            inclusive = keys.count == 1
        } else if onePass {
            keys = []
            ordered = false
            inclusive = false
        } else if table.hasCtid && (table.primaryKey.isEmpty || ctidState != nil) {
            keys = [nil]
            ordered = false
            inclusive = false
        } else {
            keys = table.primaryKey.map { table.column(named: $0) }
            ordered = true
            inclusive = false
        }
        keyColumns = keys.map { $0?.name ?? "ctid" }
        keyTypes = keys.map { $0?.sourceType ?? "tid" }
        resumeRanges = keyColumns == ["ctid"] ? ctidState?.ranges : nil
        if let state, !incremental, !keyColumns.isEmpty, keyColumns != ["ctid"], state.mode == "full_refresh",
           !state.complete, state.keyColumns == keyColumns {
            // Version 1 kept a single key instead of key ranges.
            resumeKeyRanges = !state.keyRanges.isEmpty ? state.keyRanges
                : state.key.count == keyColumns.count ? [KeyRange(lower: nil, upper: nil, after: state.key)] : nil
        } else {
            resumeKeyRanges = nil
        }
        sentBefore = limit > 0 && (resumeRanges != nil || resumeKeyRanges != nil) ? state?.sent ?? 0 : 0
        let versions = incremental && ["r", "m", "p"].contains(table.relkind)
        tracksVersions = versions
        let names = keyColumns
        var saved: ReadState?
        if let state, incremental, state.mode == "incremental", state.keyColumns.first == names.first { saved = state }
        func adapt(_ key: [String?]) -> [String?]? {
            if saved?.keyColumns == names && key.count == names.count { return key }
            // Saved with another tiebreaker: resume at the cursor value itself.
            guard let cursor = key.first else { return nil }
            return [cursor] + Array(repeating: nil, count: names.count - 1)
        }
        previousKey = saved.flatMap { adapt($0.key) } ?? []
        let base = versions ? saved?.snapshot.flatMap(SnapshotText.init) : nil
        baseSnapshot = base
        resumeKey = base == nil ? saved.flatMap { adapt($0.key) } : nil
        resumeRun = versions ? saved?.run.flatMap { run in adapt(run.key).map { RunPosition(snapshot: run.snapshot, key: $0) } } : nil
    }

    /// The schema of the batches sent: the selected columns, and the primary key only when every
    /// one of its columns is among them (a key the batches do not carry is no key of theirs).
    var schema: StreamSchema {
        let names = Set(columns.map(\.name))
        let key = table.primaryKey.allSatisfy(names.contains) ? table.primaryKey : []
        return StreamSchema(stream: stream, columns: columns.map(\.column), primaryKey: key)
    }

    /// An incremental read with a saved snapshot and no run to continue reads only the row
    /// versions that snapshot did not see: a sequential scan whatever the indexes.
    var readsUnseenOnly: Bool { baseSnapshot != nil && resumeRun == nil }

    /// The statement that checks the filter without reading.
    var filterCheckSQL: String {
        "PREPARE sluice_filter_check AS SELECT 1 FROM \(table.fromItem) WHERE \(filterCondition)"
    }

    /// The filter in parentheses, on lines of its own so a trailing `-- comment` ends with its line.
    var filterCondition: String { "(\n\(filter)\n)" }

    /// Sets the resume key values (or a range's bounds) as transaction-local settings, bound as
    /// parameters; the COPY reads them back with `current_setting`.
    func settingsSQL(segment: Segment) -> (String, [PostgresValue])? {
        var values: [(String, String)] = []
        func key(_ key: [String?]) {
            for (index, value) in key.enumerated() { values.append(("sluice.k\(index)", value ?? "")) }
        }
        switch segment {
        case .ctid(_, let range):
            if let after = range.after { values.append(("sluice.after", after)) } else { values.append(("sluice.lo", "(\(range.lo),0)")) }
            if let hi = range.hi { values.append(("sluice.hi", "(\(hi),0)")) }
        case .key(_, let range):
            if let after = range.after { key(after) } else if let lower = range.lower { values.append(("sluice.lo", lower)) }
            if let upper = range.upper { values.append(("sluice.hi", upper)) }
        case .all:
            if let resumeKey { key(resumeKey) }
            if let baseSnapshot { values.append(("sluice.snap", baseSnapshot.text)) }
            if let resumeRun {
                for (index, value) in resumeRun.key.enumerated() { values.append(("sluice.r\(index)", value ?? "")) }
                values.append(("sluice.run", resumeRun.snapshot))
            }
        }
        guard !values.isEmpty else { return nil }
        let calls = values.indices.map { "set_config($\(2 * $0 + 1), $\(2 * $0 + 2), true)" }
        return ("SELECT " + calls.joined(separator: ", "), values.flatMap { [PostgresValue.text($0.0), .text($0.1)] })
    }

    /// Where each key value is in a COPY row: a selected integer column read as it is, or a
    /// text field after the columns.
    var keyFields: [KeyField] {
        var extra = columns.count
        return keyColumns.map { name in
            if let index = columns.firstIndex(where: { $0.name == name }), columns[index].plan.cast.isEmpty,
               [.int16, .int32, .int64].contains(columns[index].plan.decoding) {
                return KeyField(field: index, integer: columns[index].plan.decoding)
            }
            defer { extra += 1 }
            return KeyField(field: extra, integer: nil)
        }
    }

    /// Fields after the columns: the key values not read from a column.
    var extraFields: Int { keyFields.filter { $0.integer == nil }.count }

    /// `COPY (SELECT …) TO STDOUT (FORMAT binary)`: the columns, then the key values that are
    /// not among them as text, for the rows of `segment` after its last sent row.
    func copySQL(segment: Segment) -> String {
        let selectList = columns.map { $0.plan.selectExpression(SQL.quoteIdentifier($0.name)) }
            + zip(keyColumns, keyFields).filter { $0.1.integer == nil }.enumerated()
                .map { "\(keyExpression($0.element.0))::text AS _sluice_k\($0.offset)" }
        var conditions: [String] = []
        if !filter.isEmpty { conditions.append(filterCondition) }
        if incremental { conditions.append("\(keyExpression(keyColumns[0])) IS NOT NULL") }
        switch segment {
        case .ctid(_, let range):
            conditions.append(range.after != nil ? "\(qualifiedName).ctid > current_setting('sluice.after')::tid"
                                                  : "\(qualifiedName).ctid >= current_setting('sluice.lo')::tid")
            if range.hi != nil { conditions.append("\(qualifiedName).ctid < current_setting('sluice.hi')::tid") }
        case .key(_, let range):
            if let after = range.after {
                conditions += afterCondition(after, inclusive: false)
            } else if range.lower != nil {
                conditions.append("\(keyExpression(keyColumns[0])) >= current_setting('sluice.lo')::\(keyTypes[0])")
            }
            if range.upper != nil {
                conditions.append("\(keyExpression(keyColumns[0])) < current_setting('sluice.hi')::\(keyTypes[0])")
            }
        case .all:
            if let resumeKey { conditions += afterCondition(resumeKey, inclusive: inclusive) }
            if baseSnapshot != nil { conditions.append(unseen(in: "sluice.snap")) }
            if let resumeRun {
                conditions += afterCondition(resumeRun.key, setting: "sluice.r", inclusive: inclusive)
                conditions.append("NOT " + unseen(in: "sluice.run"))
            }
        }
        var sql = "SELECT " + selectList.joined(separator: ", ") + " FROM " + table.fromItem
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        if ordered && !keyColumns.isEmpty { sql += " ORDER BY " + keyColumns.map(keyExpression).joined(separator: ", ") }
        if limit > 0 { sql += " LIMIT \(limit - min(sentBefore, limit))" }
        return "COPY (\(sql)) TO STDOUT (FORMAT binary)"
    }

    /// `(k0, k1, …) > (saved values)` over the leading non-null saved values (`>=` when fewer
    /// than all, or `inclusive`); the values come from the `<setting><n>` settings.
    private func afterCondition(_ key: [String?], setting: String = "sluice.k", inclusive: Bool) -> [String] {
        let present = key.prefix { $0 != nil }.count
        guard present > 0 else { return [] }
        let left = keyColumns.prefix(present).map(keyExpression).joined(separator: ", ")
        let right = (0 ..< present).map { "current_setting('\(setting)\($0)')::\(keyTypes[$0])" }.joined(separator: ", ")
        let op = inclusive || present < keyColumns.count ? ">=" : ">"
        return ["(\(left)) \(op) (\(right))"]
    }

    /// The row version was not visible in the snapshot held by `setting`: its `xmin`, mapped to
    /// 64 bits as the latest id at or before the current snapshot's `xmax` with those low 32 bits,
    /// is not visible there. `age(xmin)` first skips, cheaply, the rows older than the snapshot's
    /// `xmin` (frozen ids such as 2 have the largest age); each value is an InitPlan, computed once.
    private func unseen(in setting: String) -> String {
        let xmin = qualifiedName + ".xmin"
        let snapshot = "current_setting('\(setting)')::pg_snapshot"
        let current = "(SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint)"
        return "(age(\(xmin)) <= (SELECT age((pg_snapshot_xmin(\(snapshot))::text::bigint % 4294967296)::text::xid))"
            + " AND NOT pg_visible_in_snapshot((\(current) - ((\(current) - \(xmin)::text::bigint) & 4294967295))::text::xid8,"
            + " (SELECT \(snapshot))))"
    }

    /// A key column qualified with its table, so it never resolves to a same-named output column.
    private func keyExpression(_ name: String) -> String {
        qualifiedName + "." + (name == "ctid" ? "ctid" : SQL.quoteIdentifier(name))
    }

    /// An incremental read's state after sending rows up to `last` (nil: none yet) in the
    /// snapshot `run`; with `finished`, the read covered every row it could see.
    func incrementalState(last: [String?]?, run: SnapshotText?, finished: Bool) -> ReadState {
        guard let run else { return state(key: last ?? resumeKey ?? []) }
        let sent = last ?? resumeRun?.key
        if finished {
            return ReadState(mode: mode, keyColumns: keyColumns, key: sent ?? previousKey, snapshot: run.text)
        }
        return ReadState(mode: mode, keyColumns: keyColumns, key: previousKey, snapshot: baseSnapshot?.text,
                         run: sent.map { RunPosition(snapshot: run.text, key: $0) })
    }

    /// The state after a row with `key` (or after the rows of block or key ranges), `sent` rows
    /// into this read.
    func state(key: [String?], ranges: [CtidRange] = [], keyRanges: [KeyRange] = [], complete: Bool = false, sent: UInt64 = 0) -> ReadState {
        ReadState(mode: mode, keyColumns: keyColumns, key: key, complete: complete, ranges: ranges, keyRanges: keyRanges,
                  sent: limit > 0 && !incremental && !complete ? sentBefore + sent : nil)
    }
}

/// The part of a stream one COPY reads: all of it, or one block or key range (with its index
/// among the stream's ranges).
enum Segment: Sendable {
    case all
    case ctid(Int, CtidRange)
    case key(Int, KeyRange)
}
