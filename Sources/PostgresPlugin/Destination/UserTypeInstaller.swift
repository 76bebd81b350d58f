import Foundation
import PostgresClient
import SluiceWire

/// Gives a column of a source's user-defined type (PROTOCOL.md §5.8) that type in the
/// destination schema: each enum, domain and composite it uses is created there, dependencies
/// first, in the DDL transaction of the stream's table; one that exists already must be
/// compatible (the same kind; an enum with every label, in the same relative order; a domain on
/// the same base with the same NOT NULL and CHECK constraints; a composite with the same fields),
/// or the Write fails with `USER_TYPE_CONFLICT` naming the type and the difference.
struct UserTypeInstaller {
    let connection: PostgresConnection
    let schemaName: String
    /// Types that earlier streams of the Write create, by destination name (not in the database yet).
    var planned: [ExactName: UserType]

    /// What a column needs: its type's spelling and the DDL creating what is missing.
    struct Preparation {
        var columnType: String
        var statements: [UserTypeStatement]
        /// The types the statements create.
        var created: [UserType]
    }

    /// A type as the destination has it.
    private struct Existing {
        var oid: String
        var typtype: String
        var arrayOID: String
        /// `format_type` of the type and of its array type: how existing columns name them.
        var spelling: String
        var arraySpelling: String
    }

    mutating func prepare(_ column: Column, reference: TypeReference, stream: StreamID) async throws -> Preparation {
        func invalid(_ message: String) -> PluginError {
            PluginError(category: .protocol, code: "INVALID_MESSAGE",
                        message: "stream \(stream): column \"\(column.name)\": \(message)", stream: stream)
        }
        let ordered = try Self.order(column.userTypes, from: reference, invalid: invalid)
        var existing: [ExactName: Existing] = [:]
        var preparation = Preparation(columnType: "", statements: [], created: [])
        for type in ordered {
            let name = ExactName(type.name)
            func conflict(_ difference: String) -> PluginError {
                PluginError(category: .config, code: "USER_TYPE_CONFLICT",
                            message: "stream \(stream): column \"\(column.name)\" has the type \(type.namespace).\(type.name), but the type \(schemaName).\(type.name) in this database \(difference); "
                                + "drop or rename that type, write to another schema, or set user_types to text",
                            stream: stream)
            }
            if let found = try await lookUp(type.name) {
                try await check(type, against: found, existing: existing, conflict: conflict)
                existing[name] = found
            } else if let earlier = planned[name] ?? preparation.created.first(where: { $0.name.isExactly(type.name) }) {
                guard Self.sameShape(earlier, type) else {
                    throw conflict("is also created for another column with a different definition (\(earlier.namespace).\(earlier.name))")
                }
            } else {
                preparation.statements += try await create(type, column: column.name, stream: stream).map {
                    UserTypeStatement(sql: $0, stream: stream, column: column.name, type: "\(type.namespace).\(type.name)")
                }
                preparation.created.append(type)
                planned[name] = type
            }
        }
        let root = ExactName(reference.userTypeName)
        if let found = existing[root] {
            preparation.columnType = reference.array ? found.arraySpelling : found.spelling
        } else {
            preparation.columnType = spelling(reference)
        }
        return preparation
    }

    /// The types `reference` needs, each after those it uses; malformed definitions (a reference
    /// to a type not listed, a cycle, an unknown kind, two definitions of one name) are refused.
    static func order(_ types: [UserType], from reference: TypeReference,
                      invalid: (String) -> PluginError) throws -> [UserType] {
        var ordered: [UserType] = []
        var state: [ExactName: Bool] = [:]  // false: being placed, true: placed
        func place(_ reference: TypeReference, depth: Int) throws {
            let matches = types.filter { $0.isReferenced(by: reference) }
            guard let type = matches.first else {
                throw invalid("user type \(reference.userTypeNamespace).\(reference.userTypeName) is referenced but not defined in user_types")
            }
            guard matches.dropFirst().allSatisfy({ $0 == type }) else {
                throw invalid("user type \(type.namespace).\(type.name) is defined twice, differently")
            }
            let key = ExactName(type.namespace + "\u{0}" + type.name)
            if state[key] == true { return }
            guard state[key] == nil, depth < 64 else { throw invalid("user type \(type.namespace).\(type.name) uses itself") }
            guard type.kind != .unspecified, !type.name.isEmpty else {
                throw invalid("user type \(type.namespace).\(type.name) has no kind this destination knows")
            }
            if type.kind == .domain, type.base == nil { throw invalid("domain \(type.namespace).\(type.name) has no base type") }
            state[key] = false
            for used in type.references { try place(used, depth: depth + 1) }
            state[key] = true
            ordered.append(type)
        }
        guard reference.isUserType else { throw invalid("the column's user_type names no user type") }
        try place(reference, depth: 0)
        return ordered
    }

    /// Whether two definitions create the same type in the destination (their namespaces aside).
    static func sameShape(_ a: UserType, _ b: UserType) -> Bool {
        func strip(_ reference: TypeReference?) -> TypeReference? {
            reference.map { TypeReference(builtin: $0.builtin, userTypeName: $0.userTypeName, array: $0.array) }
        }
        var a = a, b = b
        a.namespace = ""
        b.namespace = ""
        a.base = strip(a.base)
        b.base = strip(b.base)
        a.fields = a.fields.map { CompositeField(name: $0.name, type: strip($0.type) ?? $0.type) }
        b.fields = b.fields.map { CompositeField(name: $0.name, type: strip($0.type) ?? $0.type) }
        return a == b
    }

    private func qualified(_ name: String) -> String { SQL.quoteQualified(schema: schemaName, name: name) }

    /// How DDL names a referenced type: a user type in the destination schema, or the builtin
    /// spelling (checked by ``checkBuiltin(_:column:stream:)`` before it is used).
    private func spelling(_ reference: TypeReference) -> String {
        reference.isUserType ? qualified(reference.userTypeName) + (reference.array ? "[]" : "") : reference.builtin
    }

    private func lookUp(_ name: String) async throws -> Existing? {
        let result = try await connection.execute("""
            SELECT t.oid, t.typtype, t.typarray, format_type(t.oid, NULL), format_type(t.typarray, NULL)
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typname = $2
            """, [.text(schemaName), .text(name)])
        guard let row = result.rows.first else { return nil }
        return Existing(oid: row[0] ?? "", typtype: row[1] ?? "", arrayOID: row[2] ?? "", spelling: row[3] ?? "", arraySpelling: row[4] ?? "")
    }

    /// The DDL creating `type`, its builtin types checked first.
    private func create(_ type: UserType, column: String, stream: StreamID) async throws -> [String] {
        let name = qualified(type.name)
        for reference in (type.base.map { [$0] } ?? []) + type.fields.map(\.type) where !reference.isUserType {
            try await checkBuiltin(reference.builtin, type: type, column: column, stream: stream)
        }
        switch type.kind {
        case .enumeration:
            return ["CREATE TYPE \(name) AS ENUM (\(type.labels.map(DDLLiteral.of).joined(separator: ", ")))"]
        case .composite:
            let fields = type.fields.map { "\(SQL.quoteIdentifier($0.name)) \(spelling($0.type))" }
            return ["CREATE TYPE \(name) AS (\(fields.joined(separator: ", ")))"]
        case .domain:
            var statements = ["CREATE DOMAIN \(name) AS \(type.base.map(spelling) ?? "text")" + (type.notNull ? " NOT NULL" : "")]
            for check in type.checks {
                guard check.definition.hasPrefix("CHECK ("), FilterSyntax.problem(check.definition) == nil else {
                    throw PluginError(category: .protocol, code: "INVALID_MESSAGE",
                                      message: "stream \(stream): column \"\(column)\": domain \(type.namespace).\(type.name) has a check that is not one CHECK (…) constraint",
                                      stream: stream)
                }
                statements.append("ALTER DOMAIN \(name) ADD CONSTRAINT \(SQL.quoteIdentifier(check.name)) \(check.definition)")
            }
            return statements
        case .unspecified:
            return []
        }
    }

    /// A builtin spelling must be one type name this database knows (an extension's included).
    private func checkBuiltin(_ builtin: String, type: UserType, column: String, stream: StreamID) async throws {
        let plain = !builtin.isEmpty && builtin.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || " _(),[]\".".contains($0)) }
            && FilterSyntax.problem(builtin) == nil
        var known = false
        if plain {
            do throws(PostgresError) {
                known = try await connection.execute("SELECT to_regtype($1) IS NOT NULL", [.text(builtin)]).rows.first?.first == "t"
            } catch {
                guard error.kind == .server else { throw error }
            }
        }
        guard known else {
            throw PluginError(category: .config, code: "USER_TYPE_UNAVAILABLE",
                              message: "stream \(stream): column \"\(column)\" has the type \(type.namespace).\(type.name), which uses the type \(builtin) that this database does not have "
                                  + "(create it, or its extension, here; or set user_types to text)",
                              stream: stream)
        }
    }

    /// Compares a type of the destination with the definition the column needs.
    private func check(_ type: UserType, against found: Existing, existing: [ExactName: Existing],
                       conflict: (String) -> PluginError) async throws {
        let kinds: [UserTypeKind: (String, String)] = [.enumeration: ("e", "an enum"), .domain: ("d", "a domain"), .composite: ("c", "a composite type")]
        guard let (typtype, kindName) = kinds[type.kind] else { return }
        guard found.typtype == typtype else { throw conflict("is not \(kindName)") }
        switch type.kind {
        case .enumeration:
            let labels = try await connection.execute(
                "SELECT enumlabel FROM pg_enum WHERE enumtypid = $1::oid ORDER BY enumsortorder", [.text(found.oid)]).rows.compactMap { $0[0] }
            let missing = type.labels.filter { label in !labels.contains { $0.isExactly(label) } }
            guard missing.isEmpty else {
                throw conflict("lacks the labels \(missing.map(DDLLiteral.of).joined(separator: ", ")) (ALTER TYPE … ADD VALUE adds them)")
            }
            let positions = type.labels.compactMap { label in labels.firstIndex { $0.isExactly(label) } }
            guard positions == positions.sorted() else { throw conflict("orders the labels differently (\(labels.map(DDLLiteral.of).joined(separator: ", ")))") }
        case .domain:
            let row = try await connection.execute(
                "SELECT typbasetype, format_type(typbasetype, typtypmod), typnotnull FROM pg_type WHERE oid = $1::oid", [.text(found.oid)]).rows.first
            if let base = type.base, !matches(base, oid: row?[0] ?? "", spelled: row?[1] ?? "", existing: existing) {
                throw conflict("is a domain over \(row?[1] ?? "another type"), not \(base.isUserType ? base.userTypeName + (base.array ? "[]" : "") : base.builtin)")
            }
            guard (row?[2] == "t") == type.notNull else { throw conflict(type.notNull ? "is not NOT NULL" : "is NOT NULL") }
            let checks = try await connection.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = $1::oid AND contype = 'c'", [.text(found.oid)]).rows.compactMap { $0[0] }
            guard checks.sorted() == type.checks.map(\.definition).sorted() else {
                throw conflict("has other CHECK constraints (\(checks.isEmpty ? "none" : checks.joined(separator: ", ")))")
            }
        case .composite:
            let fields = try await connection.execute("""
                SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                WHERE a.attrelid = (SELECT typrelid FROM pg_type WHERE oid = $1::oid) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
                """, [.text(found.oid)]).rows
            let same = fields.count == type.fields.count && zip(fields, type.fields).allSatisfy { row, field in
                (row[0] ?? "").isExactly(field.name) && matches(field.type, oid: row[1] ?? "", spelled: row[2] ?? "", existing: existing)
            }
            guard same else {
                throw conflict("has other fields (\(fields.map { "\($0[0] ?? "") \($0[2] ?? "")" }.joined(separator: ", ")))")
            }
        case .unspecified:
            break
        }
    }

    /// Whether a type of the destination (its OID and `format_type`) is the referenced one.
    private func matches(_ reference: TypeReference, oid: String, spelled: String, existing: [ExactName: Existing]) -> Bool {
        if reference.isUserType {
            guard let type = existing[ExactName(reference.userTypeName)] else { return false }
            return oid == (reference.array ? type.arrayOID : type.oid)
        }
        return Self.unqualified(spelled) == Self.unqualified(reference.builtin)
    }

    /// A type spelling without a leading schema (`public.citext` → `citext`): an extension's
    /// type is qualified or not depending on the session's search path.
    static func unqualified(_ spelling: String) -> String {
        guard let dot = spelling.firstIndex(of: "."),
              !spelling[..<dot].contains(where: { " ([".contains($0) }) else { return spelling }
        return String(spelling[spelling.index(after: dot)...])
    }
}

/// A statement creating (part of) a user-defined type, with what to name when the server refuses
/// it (a CHECK calling a function this database lacks, say).
struct UserTypeStatement: Sendable {
    var sql: String
    var stream: StreamID
    var column: String
    var type: String

    func refused(_ error: PostgresError) -> PluginError {
        PluginError(category: .config, code: "USER_TYPE_FAILED",
                    message: "stream \(stream): column \"\(column)\" has the type \(type), which this database refused to create: \(error.message); "
                        + "create it here yourself, or set user_types to text",
                    detail: error.sqlState.map { "SQLSTATE \($0)" } ?? "", stream: stream)
    }
}
