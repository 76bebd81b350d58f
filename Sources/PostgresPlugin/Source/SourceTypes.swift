import SluiceWire

/// How one field of a binary COPY row is decoded into a column.
indirect enum FieldDecoding: Sendable, Hashable {
    case bool, int16, int32, int64, float32, float64
    /// PostgreSQL's binary numeric, written as exact decimal text.
    case numeric
    /// Raw bytes kept as they are (text, varchar, enum labels, json, bytea).
    case raw
    /// jsonb: a version byte, then the text.
    case jsonb
    case date, time, timetz, timestamp, interval, uuid
    /// A binary array, flattened into a list of `element`.
    case array(FieldDecoding)
}

/// A row of `pg_type`, as much as type mapping needs.
struct PgType: Sendable {
    var oid: UInt32
    var name: String
    /// `b` base, `d` domain, `e` enum, `c` composite, `r`/`m` ranges, `p` pseudo.
    var typtype: String
    var baseType: UInt32
    var element: UInt32
    var category: String
    var typmod: Int32
    var namespace: String = ""
    /// A domain's NOT NULL.
    var notNull: Bool = false
    /// A composite type's `pg_class` row (its fields are that relation's attributes).
    var relid: UInt32 = 0
    /// A domain's base type as `format_type` spells it, modifiers included.
    var baseFormat: String = ""

    /// An enum, domain or composite type outside the system schemas: a PostgreSQL
    /// destination recreates it.
    var isUserDefined: Bool {
        ["e", "d", "c"].contains(typtype) && !["pg_catalog", "information_schema"].contains(namespace)
    }
}

/// How a PostgreSQL column travels: its logical type, the expression selected in COPY, and
/// how the binary field is decoded.
struct TypePlan: Sendable, Hashable {
    var type: LogicalType
    var decoding: FieldDecoding
    /// Appended to the quoted column name in the SELECT (`::numeric` for money), or
    /// ``outputText`` / ``outputTextArray`` for types sent as their output-function text.
    var cast: String

    /// Marks a type sent as the text of its output function (`format('%s', …)`, which unlike
    /// some `::text` casts, e.g. inet's, renders exactly what the server prints).
    static let outputText = "::text"
    static let outputTextArray = "::text[]"
    /// An array of a composite type, each element sent as its output text.
    static let outputCompositeArray = "::record-text[]"

    /// The SELECT expression for the quoted column `column`.
    ///
    /// A value is NULL only when `num_nulls` says so: `IS NULL` is also true of a composite
    /// whose fields are all NULL, which is a value. A text-rendered array that is not a plain
    /// one-dimensional array starting at 1 is sent cast to `text[]`, keeping its dimensions and
    /// bounds, for the decoder to refuse (lists have neither).
    func selectExpression(_ column: String) -> String {
        let irregular = "WHEN array_ndims(\(column)) > 1 OR array_lower(\(column), 1) <> 1 THEN \(column)::text[]"
        switch cast {
        case Self.outputText:
            return "CASE WHEN num_nulls(\(column)) = 1 THEN NULL ELSE format('%s', \(column)) END"
        case Self.outputTextArray:
            return "CASE WHEN \(column) IS NULL THEN NULL \(irregular) ELSE coalesce((SELECT array_agg(CASE WHEN e IS NULL THEN NULL "
                + "ELSE format('%s', e) END ORDER BY o) FROM unnest(\(column)) WITH ORDINALITY AS u(e, o)), '{}'::text[]) END"
        case Self.outputCompositeArray:
            // unnest would spread each composite element over its fields: subscript it instead.
            return "CASE WHEN \(column) IS NULL THEN NULL \(irregular) ELSE coalesce((SELECT array_agg(CASE WHEN num_nulls(\(column)[i]) = 1 "
                + "THEN NULL ELSE format('%s', \(column)[i]) END ORDER BY i) FROM generate_subscripts(\(column), 1) AS g(i)), '{}'::text[]) END"
        default:
            return column + cast
        }
    }
}

/// Maps PostgreSQL types (by OID, domains through their base type) to logical types.
struct TypeMapper: Sendable {
    let types: [UInt32: PgType]

    /// The plan for a column of type `oid` with modifier `typmod`.
    func plan(oid: UInt32, typmod: Int32) -> TypePlan {
        let (base, mod) = resolveDomain(oid: oid, typmod: typmod)
        guard let info = types[base] else { return TypePlan(type: LogicalType(.string), decoding: .raw, cast: "::text") }
        // int2vector and oidvector are zero-based arrays with text of their own (`1 2 3`): sent as that text.
        if info.category == "A", info.element != 0, base != 22, base != 30 {
            let (element, elementMod) = resolveDomain(oid: info.element, typmod: -1)
            if types[element]?.typtype == "c" {
                return TypePlan(type: .list(of: .string), decoding: .array(.raw), cast: TypePlan.outputCompositeArray)
            }
            if let scalar = scalarPlan(oid: element, typmod: elementMod), scalar.type.kind != .list {
                return TypePlan(type: .list(of: scalar.type.kind), decoding: .array(scalar.decoding),
                                cast: scalar.cast.isEmpty ? "" : scalar.cast + "[]")
            }
            return TypePlan(type: .list(of: .string), decoding: .array(.raw), cast: TypePlan.outputTextArray)
        }
        return scalarPlan(oid: base, typmod: mod) ?? TypePlan(type: LogicalType(.string), decoding: .raw, cast: "::text")
    }

    /// Whether a column of this type can be an incremental cursor.
    func isCursorCandidate(_ plan: TypePlan) -> Bool {
        [.int16, .int32, .int64, .date, .timestamp, .timestamptz].contains(plan.type.kind)
    }

    private func resolveDomain(oid: UInt32, typmod: Int32) -> (UInt32, Int32) {
        var current = oid
        var mod = typmod
        var hops = 0
        while let info = types[current], info.typtype == "d", hops < 32 {
            if info.typmod >= 0 { mod = info.typmod }
            current = info.baseType
            hops += 1
        }
        return (current, mod)
    }

    private func scalarPlan(oid: UInt32, typmod: Int32) -> TypePlan? {
        func plan(_ kind: TypeKind, _ decoding: FieldDecoding, cast: String = "") -> TypePlan {
            TypePlan(type: LogicalType(kind), decoding: decoding, cast: cast)
        }
        switch oid {
        case 16: return plan(.bool, .bool)
        case 21: return plan(.int16, .int16)
        case 23: return plan(.int32, .int32)
        case 20: return plan(.int64, .int64)
        case 700: return plan(.float32, .float32)
        case 701: return plan(.float64, .float64)
        case 1700:
            var type = LogicalType(.decimal)
            if typmod >= 4 {
                type.precision = UInt32(((typmod - 4) >> 16) & 0xffff)
                let scale = (typmod - 4) & 0x7ff
                type.scale = scale <= 1000 ? UInt32(scale) : 0
            }
            return TypePlan(type: type, decoding: .numeric, cast: "")
        case 790: return plan(.decimal, .numeric, cast: "::numeric")
        case 25, 19: return plan(.string, .raw)
        case 1043, 1042:
            var type = LogicalType(.string)
            if typmod >= 4 { type.maxLength = UInt32(typmod - 4) }
            return TypePlan(type: type, decoding: .raw, cast: "")
        case 17: return plan(.bytes, .raw)
        case 1082: return plan(.date, .date)
        case 1083: return plan(.time, .time)
        case 1266: return plan(.timetz, .timetz)
        case 1114: return plan(.timestamp, .timestamp)
        case 1184: return plan(.timestamptz, .timestamp)
        case 1186: return plan(.interval, .interval)
        case 2950: return plan(.uuid, .uuid)
        case 114: return plan(.json, .raw)
        case 3802: return plan(.json, .jsonb)
        default:
            guard let info = types[oid] else { return nil }
            if info.typtype == "e" { return plan(.string, .raw) }
            if info.name == "citext" { return plan(.string, .raw, cast: "::text") }
            return plan(.string, .raw, cast: "::text")
        }
    }
}
