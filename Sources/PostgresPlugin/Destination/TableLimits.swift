import SluiceWire

/// What a stream's table and staging table can take, checked before any data moves: PostgreSQL's
/// 1600 columns per table, and the names of the columns the destination adds itself.
enum TableLimits {
    /// PostgreSQL's `MaxHeapAttributeNumber`.
    static let maxColumns = 1600
    /// The staging table's own columns: the row's sequence number and its delete flag, and for
    /// a CDC stream the row's unchanged values.
    static func stagingColumns(_ plan: WritePlan) -> [String] {
        [WritePlan.sequenceColumn, WritePlan.deleteColumn] + (plan.cdc ? [WritePlan.unchangedColumn] : [])
    }

    /// Fails when a stream column has the name of a column the destination adds to its table
    /// (`metadata`, `_sluice_row_id` with `rowID`) or to staging, or when the table (or, with
    /// `staged`, its staging table) would pass 1600 columns.
    static func check(_ plan: WritePlan, rowID: Bool, staged: Bool, metadataSetting: Bool) throws {
        let added = plan.metadataColumns + (rowID ? [WritePlan.rowIDColumn] : []) + (plan.softDeletes ? [WritePlan.deletedAtColumn] : [])
        let stagingColumns = stagingColumns(plan)
        for column in plan.columns {
            if added.containsExactly(column.name) {
                let why = column.name == WritePlan.syncedAtColumn && (plan.mode == .mirror || plan.raw)
                    ? "which \(plan.raw ? "table_layout raw" : "mirror") needs: rename the column at the source or write the stream otherwise"
                    : "set metadata_columns to false to write the stream's column instead"
                throw reserved(plan, column.name, "is the name of a metadata column the destination adds; \(why)")
            }
            if stagingColumns.containsExactly(column.name) {
                throw reserved(plan, column.name, "is reserved for the destination's staging table: rename the column at the source")
            }
        }
        let tableWidth = plan.raw ? 0 : plan.columns.count + added.count
        if tableWidth > maxColumns {
            throw tooWide(plan, "its table would have \(tableWidth) columns (\(plan.columns.count) of the stream"
                + (added.isEmpty ? ")" : " and \(added.count) metadata: \(added.joined(separator: ", ")))")
                + ", beyond PostgreSQL's limit of \(maxColumns)"
                + (metadataSetting && plan.columns.count + (plan.mode == .mirror ? 1 : 0) <= maxColumns ? offHint : ""))
        }
        if staged { try checkStaging(plan, metadataSetting: metadataSetting) }
    }

    private static let offHint = "; set metadata_columns to false to leave the metadata columns out"

    /// Fails when the staging table (used by upsert, update-only, mirror, raw layout, embeddings,
    /// deletes and type casts) would pass 1600 columns.
    static func checkStaging(_ plan: WritePlan, metadataSetting: Bool) throws {
        let stagingColumns = stagingColumns(plan)
        let width = plan.columns.count + plan.metadataColumns.count + stagingColumns.count
        guard width > maxColumns else { return }
        let needed = plan.mode == .mirror || plan.raw ? 1 : 0
        throw tooWide(plan, "its staging table (for \(plan.raw ? "table_layout raw" : plan.mode == .append || plan.mode == .replace ? "deletes and type casts" : "keyed writes")) would have \(width) columns "
            + "(\(plan.columns.count) of the stream, \(plan.metadataColumns.count) metadata and \(stagingColumns.count) of its own), beyond PostgreSQL's limit of \(maxColumns)"
            + (metadataSetting && plan.columns.count + needed + stagingColumns.count <= maxColumns ? offHint : ""))
    }

    private static func reserved(_ plan: WritePlan, _ name: String, _ reason: String) -> PluginError {
        PluginError(category: .config, code: "RESERVED_COLUMN_NAME", message: "stream \(plan.stream): column \"\(name)\" \(reason)", stream: plan.stream)
    }

    private static func tooWide(_ plan: WritePlan, _ reason: String) -> PluginError {
        PluginError(category: .config, code: "TOO_MANY_COLUMNS", message: "stream \(plan.stream) has \(plan.columns.count) columns: \(reason)", stream: plan.stream)
    }
}
