/// Which vectors of a ``ColumnVector`` a ``TypeKind`` uses, as `records.proto` lays them out.
struct ColumnLayout: OptionSet, Sendable {
    let rawValue: UInt16

    static let bools = ColumnLayout(rawValue: 1 << 0)
    static let int32s = ColumnLayout(rawValue: 1 << 1)
    static let int64s = ColumnLayout(rawValue: 1 << 2)
    static let float32s = ColumnLayout(rawValue: 1 << 3)
    static let float64s = ColumnLayout(rawValue: 1 << 4)
    static let intervalDays = ColumnLayout(rawValue: 1 << 5)
    /// `data` + `offsets`: one byte slice per row.
    static let variableData = ColumnLayout(rawValue: 1 << 6)
    /// `data` only: 16 bytes per row.
    static let uuidData = ColumnLayout(rawValue: 1 << 7)
    /// `offsets` into `child`: one element range per row.
    static let listChild = ColumnLayout(rawValue: 1 << 8)

    /// Bytes per row of ``uuidData``.
    static let uuidSize = 16

    /// The layout of `kind`; nil for ``TypeKind/unspecified``, which carries nothing.
    init?(kind: TypeKind) {
        switch kind {
        case .unspecified: return nil
        case .bool: self = .bools
        case .int16, .int32, .date: self = .int32s
        case .int64, .time, .timestamp, .timestamptz: self = .int64s
        case .float32: self = .float32s
        case .float64: self = .float64s
        case .timetz: self = [.int64s, .int32s]
        case .interval: self = [.int32s, .intervalDays, .int64s]
        case .decimal, .string, .bytes, .json: self = .variableData
        case .uuid: self = .uuidData
        case .list: self = .listChild
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }
}

extension TypeKind {
    /// The kind's name in lower case, for messages.
    var label: String { String(describing: self).lowercased() }
}

extension LogicalType {
    /// The type as people write it, e.g. `list<string>`, for messages.
    var label: String { kind == .list ? "list<\(elementKind.label)>" : kind.label }
}
