import PostgresClient
import SluiceWire

/// A column of a readable relation, with how it travels.
struct SourceColumn: Sendable, Hashable {
    var name: String
    var notNull: Bool
    /// `format_type` of the column's type.
    var sourceType: String
    var plan: TypePlan
    var isGenerated: Bool
    /// The type's oid and modifier (`atttypid`, `atttypmod`), as pgoutput's Relation messages carry them.
    var typeOID: UInt32 = 0
    var typeModifier: Int32 = -1
    /// The column's user-defined type (or array element type) and the definitions it needs.
    var userType: TypeReference? = nil
    var userTypes: [UserType] = []

    /// The column as the protocol describes it.
    var column: Column {
        Column(name: name, type: plan.type, nullable: !notNull, sourceType: sourceType, userType: userType, userTypes: userTypes)
    }
}

/// A relation a source can read, as Discover found it.
struct SourceTable: Sendable {
    var oid: UInt32
    var schema: String
    var name: String
    /// `pg_class.relkind`: r, v, m, p or f.
    var relkind: String
    var readable: Bool
    var remedy: String
    var columns: [SourceColumn]
    var primaryKey: [String]
    var uniqueKeys: [UniqueKey]
    var cursorCandidates: [String]
    var estimatedRows: Int64
    var estimatedBytes: Int64

    var stream: StreamID { StreamID(namespace: schema, name: name) }

    /// The relation as a FROM item: `ONLY` it, so the rows of a table's inheritance children
    /// (each a stream of its own) are not read a second time through their parent; a
    /// partitioned table is read whole, its partitions being no streams of their own.
    var fromItem: String {
        let name = SQL.quoteQualified(schema: schema, name: self.name)
        return relkind == "p" ? name : "ONLY " + name
    }

    /// Plain tables and materialized views have stable physical row addresses (ctid).
    var hasCtid: Bool { relkind == "r" || relkind == "m" }

    var kindName: String {
        switch relkind {
        case "v": "view"
        case "m": "materialized_view"
        case "p": "partitioned_table"
        case "f": "foreign_table"
        default: "table"
        }
    }

    var descriptor: StreamDescriptor {
        StreamDescriptor(
            schema: StreamSchema(stream: stream, columns: columns.map(\.column), primaryKey: primaryKey),
            kind: kindName, uniqueKeys: uniqueKeys, cursorCandidates: cursorCandidates,
            syncModes: [.fullRefresh] + (cursorCandidates.isEmpty ? [] : [.incremental]) + (supportsChangeDataCapture ? [.cdc] : []),
            estimatedRows: estimatedRows, estimatedBytes: estimatedBytes, readable: readable, remedy: remedy)
    }

    func column(named name: String) -> SourceColumn? { columns.first { $0.name == name } }

    /// A table or partitioned table with a primary key, whose changes the destination can
    /// apply by key: sync mode `cdc`.
    var supportsChangeDataCapture: Bool { (relkind == "r" || relkind == "p") && !primaryKey.isEmpty }
}
