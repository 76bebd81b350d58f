import Foundation
import SluiceWire

/// Which PostgreSQL type keeps each logical type exactly, and how values travel in binary COPY.
enum PostgresTypes {
    /// The type a new column gets: the source's own type when it came from PostgreSQL and the
    /// column holds its values exactly (``keptSourceType(_:)``, `json`, declared `numeric(p,s)`),
    /// else the exact type of its logical type.
    static func columnType(for column: Column) -> String {
        if let kept = keptSourceType(column) { return kept }
        if plainJSON(column) { return encodedType(for: column) }
        if let numeric = declaredNumeric(column) { return numeric }
        switch column.type.kind {
        case .decimal where column.type.precision > 0:
            return "numeric(\(column.type.precision),\(column.type.scale))"
        case .string where column.type.maxLength > 0:
            return "character varying(\(column.type.maxLength))"
        case .list:
            return encodedType(column.type.elementKind) + "[]"
        default:
            return encodedType(column.type.kind)
        }
    }

    /// The type whose binary form a value of `kind` is sent in.
    static func encodedType(_ kind: TypeKind) -> String {
        switch kind {
        case .bool: "boolean"
        case .int16: "smallint"
        case .int32: "integer"
        case .int64: "bigint"
        case .float32: "real"
        case .float64: "double precision"
        case .decimal: "numeric"
        case .string, .unspecified: "text"
        case .bytes: "bytea"
        case .date: "date"
        case .time: "time without time zone"
        case .timetz: "time with time zone"
        case .timestamp: "timestamp without time zone"
        case .timestamptz: "timestamp with time zone"
        case .interval: "interval"
        case .uuid: "uuid"
        case .json: "jsonb"
        case .list: "text"
        }
    }

    /// The type of a column's binary COPY data: the staging column type.
    static func encodedType(for column: Column) -> String {
        let type = column.type
        let element = plainJSON(column) ? "json" : encodedType(type.kind == .list ? type.elementKind : type.kind)
        return type.kind == .list ? element + "[]" : element
    }

    /// Whether a JSON column (or list of JSON) came from PostgreSQL's `json`, which keeps the
    /// document as it is (key order, duplicate keys, whitespace, number spelling, `\u0000`):
    /// it is written to `json`, not `jsonb`.
    static func plainJSON(_ column: Column) -> Bool {
        let source = domainBuiltin(column) ?? column.sourceType
        return switch column.type.kind {
        case .json: source == "json"
        case .list: column.type.elementKind == .json && source == "json[]"
        default: false
        }
    }

    /// The built-in type a column of a user-defined domain comes down to (a domain `doc` over
    /// `json` → `json`; an array of it → `json[]`), or nil for other columns.
    static func domainBuiltin(_ column: Column) -> String? {
        guard var reference = column.userType else { return nil }
        var array = reference.array
        for _ in 0..<64 {
            guard reference.isUserType else { return array ? reference.builtin + "[]" : reference.builtin }
            guard let type = column.userTypes.first(where: { $0.isReferenced(by: reference) }), type.kind == .domain,
                  let base = type.base else { return nil }
            if base.isUserType && base.array {
                guard !array else { return nil }
                array = true
            }
            reference = base
        }
        return nil
    }

    /// A decimal column's declared `numeric(p,s)` as the source's type name gives it, when it
    /// parses: the logical type can't carry a negative scale (PostgreSQL 15+) or one above the
    /// precision.
    private static func declaredNumeric(_ column: Column) -> String? {
        let isList = column.type.kind == .list
        guard (isList ? column.type.elementKind : column.type.kind) == .decimal else { return nil }
        var source = Substring(column.sourceType)
        if isList {
            guard source.hasSuffix("[]") else { return nil }
            source = source.dropLast(2)
        }
        guard source.hasPrefix("numeric("), source.hasSuffix(")") else { return nil }
        let parts = source.dropFirst("numeric(".count).dropLast().split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, let precision = Int(parts[0]), let scale = Int(parts[1]),
              (1...1000).contains(precision), (-1000...1000).contains(scale) else { return nil }
        return "numeric(\(precision),\(scale))" + (isList ? "[]" : "")
    }

    /// The element type OID of `kind`'s encoded type (array headers carry it); `plainJSON`:
    /// JSON as `json` rather than `jsonb`.
    static func oid(_ kind: TypeKind, plainJSON: Bool = false) -> UInt32 {
        if kind == .json, plainJSON { return 114 }
        return switch kind {
        case .bool: 16
        case .int16: 21
        case .int32: 23
        case .int64: 20
        case .float32: 700
        case .float64: 701
        case .decimal: 1700
        case .string, .unspecified, .list: 25
        case .bytes: 17
        case .date: 1082
        case .time: 1083
        case .timetz: 1266
        case .timestamp: 1114
        case .timestamptz: 1184
        case .interval: 1186
        case .uuid: 2950
        case .json: 3802
        }
    }

    /// The OID of the array type whose elements are `kind`'s encoded type.
    static func arrayOID(_ kind: TypeKind, plainJSON: Bool = false) -> UInt32 {
        if kind == .json, plainJSON { return 199 }
        return switch kind {
        case .bool: 1000
        case .int16: 1005
        case .int32: 1007
        case .int64: 1016
        case .float32: 1021
        case .float64: 1022
        case .decimal: 1231
        case .string, .unspecified, .list: 1009
        case .bytes: 1001
        case .date: 1182
        case .time: 1183
        case .timetz: 1270
        case .timestamp: 1115
        case .timestamptz: 1185
        case .interval: 1187
        case .uuid: 2951
        case .json: 3807
        }
    }

    /// Whether binary data of `encoded` type can go straight into a column of `target` type
    /// (same receive function); otherwise it goes through a staging table and a cast.
    static func binaryCompatible(encoded: String, target: String) -> Bool {
        let encodedArray = encoded.hasSuffix("[]"), targetArray = target.hasSuffix("[]")
        guard encodedArray == targetArray else { return false }
        if encodedArray { return base(encoded) == base(target) }
        return textual(base(encoded)) == textual(base(target))
    }

    /// The type name without modifiers or array brackets: `numeric(12,2)` → `numeric`,
    /// `timestamp(3) with time zone` → `timestamp with time zone`.
    static func base(_ type: String) -> String {
        var name = type.hasSuffix("[]") ? String(type.dropLast(2)) : type
        while let open = name.firstIndex(of: "("), let close = name[open...].firstIndex(of: ")") {
            name.removeSubrange(open...close)
        }
        return name.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "  ", with: " ")
    }

    private static func textual(_ base: String) -> String {
        ["text", "character varying", "character", "name"].contains(base) ? "text" : base
    }

    /// Built-in PostgreSQL types the protocol carries as text; kept when writing to PostgreSQL.
    static let keptBuiltIns: Set<String> = [
        "inet", "cidr", "macaddr", "macaddr8", "money", "xml", "bit", "bit varying", "varbit",
        "tsvector", "tsquery", "point", "line", "lseg", "box", "path", "polygon", "circle", "pg_lsn",
        "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange",
        "int4multirange", "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange", "datemultirange",
        "oid", "xid8", "txid_snapshot", "pg_snapshot",
    ]

    /// Character types a string column keeps with their modifiers (`character(n)` pads, `name`
    /// and `"char"` have their own limits).
    static let keptCharacterTypes: Set<String> = ["character varying", "character", "bpchar", "name", "\"char\""]

    /// Types of extensions, kept when the destination database has them, and their extension.
    static let extensionTypes: [String: String] = [
        "vector": "vector", "halfvec": "vector", "sparsevec": "vector", "citext": "citext", "hstore": "hstore",
    ]

    /// The base type names (``base(_:)``) `format_type` gives for a logical kind whose
    /// values a column of that type holds exactly: the source's type is kept, modifiers and all.
    private static func keptBases(for kind: TypeKind) -> (names: Set<String>, prefix: String?) {
        switch kind {
        case .string: (keptBuiltIns.union(keptCharacterTypes).union(extensionTypes.keys), nil)
        case .decimal: (["money"], nil)
        case .timestamp: (["timestamp without time zone"], nil)
        case .timestamptz: (["timestamp with time zone"], nil)
        case .time: (["time without time zone"], nil)
        case .timetz: (["time with time zone"], nil)
        case .interval: ([], "interval")
        default: ([], nil)
        }
    }

    /// The source's type as `format_type` spells it (a PostgreSQL source), when the column's
    /// logical type carries its values exactly but not the type itself: built-in types with
    /// their modifiers (`timestamp(3) without time zone`, `interval year to month`,
    /// `character(5)`, `bit(3)`, `money`, `inet`, …) and extension types (``extensionTypes``).
    /// Any other source type (another system's spelling, enums, domains, composites) is nil.
    private static func keptSourceType(_ column: Column) -> String? {
        let isList = column.type.kind == .list
        let kind = isList ? column.type.elementKind : column.type.kind
        let source = column.sourceType
        guard !source.isEmpty, source.hasSuffix("[]") == isList,
              source.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || " _(),[]\"".contains($0)) }),
              source.first?.isLetter == true || source.hasPrefix("\"char\"") else { return nil }
        let kept = keptBases(for: kind), name = base(source)
        guard kept.names.contains(name) || kept.prefix.map({ name.hasPrefix($0) }) == true else { return nil }
        return source
    }

    /// The extension a column type needs (`vector(3)[]` → `vector`), if any.
    static func extensionOf(_ type: String) -> String? {
        extensionTypes[base(type)]
    }
}
