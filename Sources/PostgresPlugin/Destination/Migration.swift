import Foundation

/// A column as the destination table has it.
struct ExistingColumn: Sendable, Equatable {
    var name: String
    var type: String
    var notNull: Bool
}

/// A column the stream needs in the destination table.
struct WantedColumn: Sendable, Equatable {
    var name: String
    var type: String
    var nullable: Bool
    /// A type an existing column may have instead: for a user-defined type, the one it would get
    /// without it (`text`, a domain's base type), which holds every value too.
    var formerType: String? = nil
}

/// What safe migration does to an existing table, and what it refuses.
struct Migration: Sendable, Equatable {
    /// `ALTER TABLE … <clause>` clauses that lose nothing.
    var clauses: [String] = []
    /// One line per change that could lose data.
    var refusals: [String] = []
    /// Each wanted column's type in the table once the clauses ran.
    var finalTypes: [ExactName: String] = [:]

    /// Compares the wanted columns with the table's; `quote` quotes identifiers.
    static func plan(wanted: [WantedColumn], existing: [ExistingColumn], keepNotNull: Set<ExactName>,
                     quote: (String) -> String) -> Migration {
        var migration = Migration()
        let byName = Dictionary(existing.map { (ExactName($0.name), $0) }, uniquingKeysWith: { first, _ in first })
        for column in wanted {
            guard let have = byName[ExactName(column.name)] else {
                migration.clauses.append("ADD COLUMN \(quote(column.name)) \(column.type)")
                migration.finalTypes[ExactName(column.name)] = column.type
                continue
            }
            var relation = TypeWidening.relation(existing: have.type, wanted: column.type)
            if relation != .holds, let former = column.formerType, TypeWidening.relation(existing: have.type, wanted: former) == .holds {
                relation = .holds
            }
            switch relation {
            case .holds:
                migration.finalTypes[ExactName(column.name)] = have.type
            case .widen(let type):
                migration.clauses.append("ALTER COLUMN \(quote(column.name)) TYPE \(type)")
                migration.finalTypes[ExactName(column.name)] = type
            case .refuse:
                migration.refusals.append("column \"\(column.name)\": type \(have.type) cannot hold \(column.type) without a possible loss")
                migration.finalTypes[ExactName(column.name)] = have.type
            }
            if column.nullable, have.notNull, !keepNotNull.contains(ExactName(column.name)) {
                migration.clauses.append("ALTER COLUMN \(quote(column.name)) DROP NOT NULL")
            }
        }
        let wantedNames = Set(wanted.map { ExactName($0.name) })
        for column in existing where !wantedNames.contains(ExactName(column.name)) && column.notNull && !keepNotNull.contains(ExactName(column.name)) {
            migration.clauses.append("ALTER COLUMN \(quote(column.name)) DROP NOT NULL")
        }
        return migration
    }
}

extension Migration {
    /// A raw-layout table: missing raw columns are added; a table without the raw record
    /// column (a typed table) is refused.
    static func plan(raw wanted: [WantedColumn], existing: [ExistingColumn], quote: (String) -> String) -> Migration {
        guard existing.contains(where: { $0.name.isExactly(RawLayout.dataColumn) && $0.type == "jsonb" }) else {
            return Migration(refusals: ["the table is not a raw-layout table (no jsonb column \"\(RawLayout.dataColumn)\")"])
        }
        var migration = Migration()
        let names = Set(existing.map { ExactName($0.name) })
        for column in wanted where !names.contains(ExactName(column.name)) {
            let fill = column.name == RawLayout.deletedColumn ? " NOT NULL DEFAULT false" : ""
            migration.clauses.append("ADD COLUMN \(quote(column.name)) \(column.type)\(fill)")
        }
        return migration
    }
}

/// Whether a column type already holds another type's values, can be widened to, or neither.
enum TypeWidening: Equatable {
    case holds
    case widen(String)
    case refuse

    private static let integerDigits = ["smallint": 5, "integer": 10, "bigint": 19]

    static func relation(existing: String, wanted: String) -> TypeWidening {
        let have = existing.lowercased(), want = wanted.lowercased()
        if have == want { return .holds }
        if have.hasSuffix("[]") || want.hasSuffix("[]") {
            guard have.hasSuffix("[]"), want.hasSuffix("[]"),
                  relation(existing: String(have.dropLast(2)), wanted: String(want.dropLast(2))) == .holds else { return .refuse }
            return .holds
        }
        let haveBase = PostgresTypes.base(have), wantBase = PostgresTypes.base(want)
        if let wantDigits = integerDigits[wantBase] {
            if let haveDigits = integerDigits[haveBase] { return haveDigits >= wantDigits ? .holds : .widen(wanted) }
            if haveBase == "numeric" {
                guard let (precision, scale) = numericModifiers(have) else { return .holds }
                return precision - scale >= wantDigits ? .holds : .widen("numeric(\(wantDigits + scale),\(scale))")
            }
            return .refuse
        }
        switch (haveBase, wantBase) {
        case ("double precision", "real"): return .holds
        case ("real", "double precision"): return .widen(wanted)
        case ("numeric", "numeric"):
            guard let (havePrecision, haveScale) = numericModifiers(have) else { return .holds }
            guard let (wantPrecision, wantScale) = numericModifiers(want) else { return .widen(wanted) }
            let integer = max(havePrecision - haveScale, wantPrecision - wantScale), scale = max(haveScale, wantScale)
            return integer + scale == havePrecision && scale == haveScale ? .holds : .widen("numeric(\(integer + scale),\(scale))")
        case ("text", _) where ["text", "character varying", "character"].contains(wantBase) || PostgresTypes.keptBuiltIns.contains(wantBase)
            || PostgresTypes.keptCharacterTypes.contains(wantBase) || PostgresTypes.extensionTypes[wantBase] != nil:
            return .holds
        case ("interval", _) where wantBase.hasPrefix("interval"):
            return .holds
        case ("numeric", "money") where numericModifiers(have) == nil:
            return .holds
        case ("character varying", "character"):
            guard let haveLength = modifier(have) else { return .holds }
            return haveLength >= modifier(want) ?? 1 ? .holds : .refuse
        case ("character varying", "text"): return .widen("text")
        case ("character varying", "character varying"):
            guard let haveLength = modifier(have) else { return .holds }
            guard let wantLength = modifier(want) else { return .widen(wanted) }
            return haveLength >= wantLength ? .holds : .widen(wanted)
        case let (a, b) where a == b && modifier(have) == nil:
            return .holds
        case let (a, b) where a == b && modifier(want) == nil:
            return .widen(wanted)
        default:
            return .refuse
        }
    }

    private static func numericModifiers(_ type: String) -> (Int, Int)? {
        guard let open = type.firstIndex(of: "("), let close = type.firstIndex(of: ")") else { return nil }
        let parts = type[type.index(after: open)..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard let precision = parts.first else { return nil }
        return (precision, parts.count > 1 ? parts[1] : 0)
    }

    private static func modifier(_ type: String) -> Int? { numericModifiers(type)?.0 }
}
