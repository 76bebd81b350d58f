import Foundation
import PostgresClient
import SluiceWire

/// What one stream's read does: its columns, its checkpoint key and the SQL that reads it.
///
/// The checkpoint key is `(cursor, primary key or ctid)` for an incremental stream, `ctid`
/// for a full refresh of a table or materialized view (read in physical order), the primary
/// key for other relations that have one, and nothing otherwise (no mid-stream checkpoints).
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
    /// Where to resume, from the host's state.
    let resumeKey: [String?]?
    /// For a full refresh by ctid: the block ranges of an interrupted read, from the host's state.
    let resumeRanges: [CtidRange]?

    var stream: StreamID { table.stream }
    var mode: String { incremental ? "incremental" : "full_refresh" }
    var usesCtid: Bool { keyColumns.contains("ctid") }
    var qualifiedName: String { SQL.quoteQualified(schema: table.schema, name: table.name) }

    init(table: SourceTable, configured: ConfiguredStream, state: ReadState?) throws(PluginError) {
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
        incremental = configured.syncMode == .incremental
        filter = configured.filter.trimmingCharacters(in: .whitespacesAndNewlines)
        limit = configured.limit
        var keys: [SourceColumn?] = []
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
        } else if table.hasCtid {
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
        if let state, !incremental, keyColumns == ["ctid"], state.mode == "full_refresh", !state.complete,
           state.keyColumns == keyColumns, !state.ranges.isEmpty {
            resumeRanges = state.ranges
        } else {
            resumeRanges = nil
        }
        if let state, state.mode == (incremental ? "incremental" : "full_refresh"), !state.complete || incremental,
           state.keyColumns == keyColumns, state.key.count == keyColumns.count, keyColumns != ["ctid"] {
            resumeKey = state.key
        } else if let state, incremental, state.mode == "incremental", state.keyColumns.first == keyColumns.first,
                  let cursor = state.key.first {
            // Saved with another tiebreaker: resume at the cursor value itself.
            resumeKey = [cursor] + Array(repeating: nil, count: keyColumns.count - 1)
        } else {
            resumeKey = nil
        }
    }

    /// The statement that checks the filter without reading.
    var filterCheckSQL: String {
        "PREPARE sluice_filter_check AS SELECT 1 FROM \(qualifiedName) WHERE (\(filter))"
    }

    /// Sets the resume key values (or a ctid range's bounds) as transaction-local settings,
    /// bound as parameters; the COPY reads them back with `current_setting`.
    func settingsSQL(range: CtidRange?) -> (String, [PostgresValue])? {
        var values: [(String, String)] = []
        if let range {
            if let after = range.after { values.append(("sluice.after", after)) } else { values.append(("sluice.lo", "(\(range.lo),0)")) }
            if let hi = range.hi { values.append(("sluice.hi", "(\(hi),0)")) }
        } else if let resumeKey {
            for (index, value) in resumeKey.enumerated() { values.append(("sluice.k\(index)", value ?? "")) }
        }
        guard !values.isEmpty else { return nil }
        let calls = values.indices.map { "set_config($\(2 * $0 + 1), $\(2 * $0 + 2), true)" }
        return ("SELECT " + calls.joined(separator: ", "), values.flatMap { [PostgresValue.text($0.0), .text($0.1)] })
    }

    /// `COPY (SELECT …) TO STDOUT (FORMAT binary)`: the columns, then the key as text.
    /// With `range`, only that block range (after its last sent row) is read.
    func copySQL(range: CtidRange?) -> String {
        let selectList = columns.map { $0.plan.selectExpression(SQL.quoteIdentifier($0.name)) }
            + keyColumns.indices.map { "\(keyExpression(keyColumns[$0]))::text AS _sluice_k\($0)" }
        var conditions: [String] = []
        if !filter.isEmpty { conditions.append("(\(filter))") }
        if incremental { conditions.append("\(keyExpression(keyColumns[0])) IS NOT NULL") }
        if let range {
            conditions.append(range.after != nil ? "\(qualifiedName).ctid > current_setting('sluice.after')::tid"
                                                  : "\(qualifiedName).ctid >= current_setting('sluice.lo')::tid")
            if range.hi != nil { conditions.append("\(qualifiedName).ctid < current_setting('sluice.hi')::tid") }
        } else if let resumeKey {
            let present = resumeKey.prefix { $0 != nil }.count
            if present > 0 {
                let left = keyColumns.prefix(present).map(keyExpression).joined(separator: ", ")
                let right = (0 ..< present).map { "current_setting('sluice.k\($0)')::\(keyTypes[$0])" }.joined(separator: ", ")
                let op = inclusive || present < keyColumns.count ? ">=" : ">"
                conditions.append("(\(left)) \(op) (\(right))")
            }
        }
        var sql = "SELECT " + selectList.joined(separator: ", ") + " FROM " + qualifiedName
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        if ordered && !keyColumns.isEmpty { sql += " ORDER BY " + keyColumns.map(keyExpression).joined(separator: ", ") }
        if limit > 0 { sql += " LIMIT \(limit)" }
        return "COPY (\(sql)) TO STDOUT (FORMAT binary)"
    }

    /// A key column qualified with its table, so it never resolves to a same-named output column.
    private func keyExpression(_ name: String) -> String {
        qualifiedName + "." + (name == "ctid" ? "ctid" : SQL.quoteIdentifier(name))
    }

    /// The state after a row with `key` (or, by ctid, after the rows of `ranges`).
    func state(key: [String?], ranges: [CtidRange] = [], complete: Bool = false) -> ReadState {
        ReadState(mode: mode, keyColumns: keyColumns, key: key, complete: complete, ranges: ranges)
    }
}
