/// The logical type of a column; fixes which vector of a ``ColumnVector`` carries its values.
/// See `proto/sluice/v1/records.proto` for the encoding of each kind.
public enum TypeKind: Int32, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case bool = 1
    case int16 = 2
    case int32 = 3
    case int64 = 4
    case float32 = 5
    case float64 = 6
    case decimal = 7
    case string = 8
    case bytes = 9
    case date = 10
    case time = 11
    case timetz = 12
    case timestamp = 13
    case timestamptz = 14
    case interval = 15
    case uuid = 16
    case json = 17
    case list = 18
}

/// A column's type: a kind, plus what some kinds need (list element kind, decimal precision).
public struct LogicalType: Sendable, Hashable {
    public var kind: TypeKind
    /// For ``TypeKind/list``: the kind of the elements.
    public var elementKind: TypeKind
    /// For ``TypeKind/decimal``: declared precision and scale, 0 when unconstrained.
    public var precision: UInt32
    public var scale: UInt32
    /// For ``TypeKind/string``: declared maximum length, 0 when unbounded.
    public var maxLength: UInt32

    public init(_ kind: TypeKind, elementKind: TypeKind = .unspecified, precision: UInt32 = 0, scale: UInt32 = 0, maxLength: UInt32 = 0) {
        self.kind = kind
        self.elementKind = elementKind
        self.precision = precision
        self.scale = scale
        self.maxLength = maxLength
    }

    /// A one-dimensional list of `element`.
    public static func list(of element: TypeKind) -> LogicalType { LogicalType(.list, elementKind: element) }
}

/// One column of a stream's schema. Names compare byte for byte (``String/isExactly(_:)``).
public struct Column: Sendable, Hashable {
    public var name: String
    public var type: LogicalType
    public var nullable: Bool
    /// The source system's own type name, e.g. `numeric(12,2)` or `inet`.
    public var sourceType: String
    /// A PostgreSQL source's user-defined type (enum, domain, composite) of the column, or the
    /// element type of an array column (``TypeReference/array``); nil otherwise.
    public var userType: TypeReference?
    /// The definitions of ``userType`` and of every user-defined type it uses, each after the
    /// types it uses.
    public var userTypes: [UserType]

    public init(name: String, type: LogicalType, nullable: Bool = true, sourceType: String = "",
                userType: TypeReference? = nil, userTypes: [UserType] = []) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.sourceType = sourceType
        self.userType = userType
        self.userTypes = userTypes
    }

    public static func == (a: Column, b: Column) -> Bool {
        a.name.isExactly(b.name) && a.type == b.type && a.nullable == b.nullable && a.sourceType.isExactly(b.sourceType)
            && a.userType == b.userType && a.userTypes == b.userTypes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(Array(name.utf8))
        hasher.combine(type)
    }
}

/// Names a stream: a namespace (schema) and a name, compared byte for byte as PostgreSQL compares
/// identifiers (``String/isExactly(_:)``).
public struct StreamID: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String = "", name: String) {
        self.namespace = namespace
        self.name = name
    }

    public var description: String { namespace.isEmpty ? name : "\(namespace).\(name)" }

    public static func == (a: StreamID, b: StreamID) -> Bool {
        a.namespace.isExactly(b.namespace) && a.name.isExactly(b.name)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(Array(namespace.utf8))
        hasher.combine(Array(name.utf8))
    }
}

/// The column order of the record batches that follow for a stream.
public struct StreamSchema: Sendable, Hashable {
    public var stream: StreamID
    public var columns: [Column]
    public var primaryKey: [String]

    public init(stream: StreamID, columns: [Column], primaryKey: [String] = []) {
        self.stream = stream
        self.columns = columns
        self.primaryKey = primaryKey
    }

    public static func == (a: StreamSchema, b: StreamSchema) -> Bool {
        a.stream == b.stream && a.columns == b.columns && a.primaryKey.count == b.primaryKey.count
            && zip(a.primaryKey, b.primaryKey).allSatisfy { $0.isExactly($1) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(stream)
        hasher.combine(columns)
    }
}

extension String {
    /// Whether the two strings are the same bytes. `==` also calls canonically equivalent
    /// strings equal (NFC `é` and NFD `e` + U+0301), which PostgreSQL, comparing identifiers
    /// byte for byte, keeps apart.
    public func isExactly(_ other: String) -> Bool { utf8.elementsEqual(other.utf8) }
}

/// The values of one column for every row of a batch, in the layout of `records.proto`.
///
/// Every vector a kind uses holds exactly `rowCount` entries (UUID: `16 * rowCount` bytes of
/// `data`; variable-width kinds: `rowCount + 1` offsets). A null row keeps its slot.
public struct ColumnVector: Sendable, Equatable {
    /// LSB-first validity bitmap; empty means every row is non-null.
    public var validity: [UInt8]
    public var bools: [Bool]
    public var int32s: [Int32]
    public var int64s: [Int64]
    public var float32s: [Float]
    public var float64s: [Double]
    public var data: [UInt8]
    public var offsets: [UInt32]
    public var intervalDays: [Int32]
    /// LSB-first bitmap laid out as ``validity``: a set bit means the row's value did not change
    /// and was not sent (PostgreSQL's unchanged TOASTed value); the row's validity bit is then 0.
    /// Empty means no row is unchanged. Only on upsert rows of a ``SyncMode/cdc`` stream, never
    /// on a key column nor a list's child; a destination keeps its current value.
    public var unchanged: [UInt8]
    private var childStorage: [ColumnVector]

    /// For lists: the elements of every row, one after another.
    public var child: ColumnVector? {
        get { childStorage.first }
        set { childStorage = newValue.map { [$0] } ?? [] }
    }

    public init(
        validity: [UInt8] = [], bools: [Bool] = [], int32s: [Int32] = [], int64s: [Int64] = [],
        float32s: [Float] = [], float64s: [Double] = [], data: [UInt8] = [], offsets: [UInt32] = [],
        intervalDays: [Int32] = [], child: ColumnVector? = nil, unchanged: [UInt8] = []
    ) {
        self.validity = validity
        self.bools = bools
        self.int32s = int32s
        self.int64s = int64s
        self.float32s = float32s
        self.float64s = float64s
        self.data = data
        self.offsets = offsets
        self.intervalDays = intervalDays
        self.unchanged = unchanged
        self.childStorage = child.map { [$0] } ?? []
    }

    /// Whether row `index` holds a value (is not null).
    @inlinable
    public func isValid(_ index: Int) -> Bool {
        Self.isValid(index, in: validity)
    }

    /// Whether row `index` holds a value by the validity bitmap `validity` (empty: every row
    /// does), for loops that keep the bitmap in a local.
    @inlinable
    public static func isValid(_ index: Int, in validity: [UInt8]) -> Bool {
        validity.isEmpty || (validity[index >> 3] & (1 << UInt8(index & 7))) != 0
    }

    /// Whether row `index` is marked unchanged: its value was not sent, the destination keeps
    /// its own (see ``unchanged``).
    @inlinable
    public func isUnchanged(_ index: Int) -> Bool {
        !unchanged.isEmpty && (unchanged[index >> 3] & (1 << UInt8(index & 7))) != 0
    }
}

/// What a row does at the destination.
public enum RowOperation: UInt8, Sendable, Hashable {
    /// Insert, or update by key, as the stream's write mode says.
    case upsert = 0
    /// Delete by key; only the key columns are meaningful.
    case delete = 1
    /// Only in a ``SyncMode/cdc`` stream: the destination table loses every row applied before
    /// this one; every column of the row is null; rows after it apply after the truncate.
    case truncate = 2
}

/// Rows of one stream, one vector per column in the order of the stream's ``StreamSchema``.
public struct RecordBatch: Sendable, Equatable {
    public var stream: StreamID
    public var rowCount: Int
    public var columns: [ColumnVector]
    /// One ``RowOperation`` raw value per row; empty means every row is an upsert.
    public var operations: [UInt8]
    /// Feature ``Feature/postgresRows``: the rows as PostgreSQL binary COPY tuples instead of
    /// `columns` (PROTOCOL.md §5.12); empty otherwise.
    public var postgresRows: [UInt8]

    public init(stream: StreamID, rowCount: Int, columns: [ColumnVector], operations: [UInt8] = [], postgresRows: [UInt8] = []) {
        self.stream = stream
        self.rowCount = rowCount
        self.columns = columns
        self.operations = operations
        self.postgresRows = postgresRows
    }

    /// Whether the rows travel as PostgreSQL binary COPY tuples (``postgresRows``).
    public var carriesPostgresRows: Bool { !postgresRows.isEmpty }
}
