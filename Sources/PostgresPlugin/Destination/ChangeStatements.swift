import PostgresClient

// The statements that apply a CDC stream (PROTOCOL.md §5.9, §8.2) beyond the upsert path:
// staged rows whose values are partly unchanged update the row in place keeping those
// columns; `deletes: soft` marks rows deleted instead of deleting them; TRUNCATE empties the
// table (or marks every row deleted).

extension WritePlan {
    /// The upsert's filter: staged rows that leave a value unchanged are applied by
    /// ``keepingUpdateFromStaging`` instead.
    func withoutUnchanged(_ alias: String) -> String {
        cdc ? " AND \(alias).\(SQL.quoteIdentifier(Self.unchangedColumn)) IS NULL" : ""
    }

    /// `deletes: soft`: an upsert revives a row marked deleted.
    var revived: [String] {
        softDeletes ? ["\(SQL.quoteIdentifier(Self.deletedAtColumn)) = NULL"] : []
    }

    /// `deletes: soft`: marks the rows whose key's last staged operation is a delete; one count.
    var softDeleteFromStaging: String {
        let del = SQL.quoteIdentifier(Self.deleteColumn), deletedAt = SQL.quoteIdentifier(Self.deletedAtColumn)
        return "WITH d AS (UPDATE \(target) t SET \(deletedAt) = now() FROM (\(lastPerKey)) s WHERE s.\(del) AND \(keyMatch("t", "s")) "
            + "AND t.\(deletedAt) IS NULL RETURNING 1) SELECT count(*) FROM d"
    }

    /// Updates the rows whose key's last staged row leaves values unchanged, keeping the
    /// table's value of each such column; returns updated and staged-row counts (fewer updated
    /// than staged: a key is missing, ``missingKeptRow`` names it).
    var keepingUpdateFromStaging: String {
        let del = SQL.quoteIdentifier(Self.deleteColumn), unchanged = SQL.quoteIdentifier(Self.unchangedColumn)
        var sets: [String] = []
        for (index, column) in columns.enumerated() where !key.containsExactly(column.name) {
            let name = SQL.quoteIdentifier(column.name)
            let value = column.needsCast ? "CAST(s.\(name) AS \(column.targetType))" : "s.\(name)"
            sets.append("\(name) = CASE WHEN get_byte(s.\(unchanged), \(index)) = 1 THEN t.\(name) ELSE \(value) END")
        }
        sets += metadataColumns.map { "\(SQL.quoteIdentifier($0)) = s.\(SQL.quoteIdentifier($0))" } + revived
        if sets.isEmpty { sets = ["\(SQL.quoteIdentifier(key[0])) = t.\(SQL.quoteIdentifier(key[0]))"] }
        return "WITH s AS (SELECT * FROM (\(lastPerKey)) l WHERE NOT l.\(del) AND l.\(unchanged) IS NOT NULL), "
            + "u AS (UPDATE \(target) t SET \(sets.joined(separator: ", ")) FROM s WHERE \(keyMatch("t", "s")) RETURNING 1) "
            + "SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM s)"
    }

    /// The first staged row that leaves values unchanged but whose key the table does not
    /// have: its sequence number and its unchanged bytes (hex).
    var missingKeptRow: String {
        let del = SQL.quoteIdentifier(Self.deleteColumn), unchanged = SQL.quoteIdentifier(Self.unchangedColumn)
        let seq = SQL.quoteIdentifier(Self.sequenceColumn)
        return "SELECT s.\(seq), encode(s.\(unchanged), 'hex') FROM (\(lastPerKey)) s WHERE NOT s.\(del) AND s.\(unchanged) IS NOT NULL "
            + "AND NOT EXISTS (SELECT 1 FROM \(target) t WHERE \(keyMatch("t", "s"))) ORDER BY s.\(seq) LIMIT 1"
    }

    /// A TRUNCATE row: empties the table, or (`deletes: soft`) marks every row deleted; one count.
    var truncateStatement: String {
        guard softDeletes else { return "WITH d AS (DELETE FROM \(target) RETURNING 1) SELECT count(*) FROM d" }
        let deletedAt = SQL.quoteIdentifier(Self.deletedAtColumn)
        return "WITH d AS (UPDATE \(target) SET \(deletedAt) = now() WHERE \(deletedAt) IS NULL RETURNING 1) SELECT count(*) FROM d"
    }
}
