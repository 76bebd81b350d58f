import PostgresClient
import SluiceWire

/// Reads the definitions of the user-defined enums, domains and composite types that columns
/// use, out of the server's catalogs, so a PostgreSQL destination can create them again
/// (PROTOCOL.md §5.8).
struct UserTypeReader {
    let connection: PostgresConnection
    let types: [UInt32: PgType]

    /// A column type's reference and the definitions it needs, dependencies first.
    struct Definition: Sendable {
        var reference: TypeReference
        var types: [UserType]
    }

    /// For each of `typeOIDs` that is a user-defined type or an array of one, its definition.
    func definitions(of typeOIDs: [UInt32]) async throws -> [UInt32: Definition] {
        let roots = typeOIDs.filter { userElement(of: $0) != nil }
        guard !roots.isEmpty else { return [:] }
        // Every user type reachable from the roots, with the composite fields read layer by layer.
        var fields: [UInt32: [Field]] = [:]
        var seen = Set(roots.compactMap { userElement(of: $0)?.type.oid })
        var frontier = Array(seen)
        while !frontier.isEmpty {
            var next: [UInt32] = []
            let composites = frontier.compactMap { types[$0] }.filter { $0.typtype == "c" }
            let loaded = try await attributes(of: composites)
            for composite in composites { fields[composite.oid] = loaded[composite.relid] ?? [] }
            for oid in frontier {
                guard let type = types[oid] else { continue }
                let used = type.typtype == "d" ? [type.baseType] : (fields[oid] ?? []).map(\.typeOID)
                for dependency in used.compactMap({ userElement(of: $0)?.type.oid }) where seen.insert(dependency).inserted {
                    next.append(dependency)
                }
            }
            frontier = next
        }
        let labels = try await enumLabels(seen.filter { types[$0]?.typtype == "e" })
        let checks = try await domainChecks(seen.filter { types[$0]?.typtype == "d" })

        var definitions: [UInt32: UserType] = [:]
        for oid in seen {
            guard let type = types[oid] else { continue }
            var definition = UserType(namespace: type.namespace, name: type.name, kind: .unspecified)
            switch type.typtype {
            case "e":
                definition.kind = .enumeration
                definition.labels = labels[oid] ?? []
            case "d":
                definition.kind = .domain
                definition.base = reference(to: type.baseType, spelled: type.baseFormat)
                definition.notNull = type.notNull
                definition.checks = checks[oid] ?? []
            default:
                definition.kind = .composite
                definition.fields = (fields[oid] ?? []).map { CompositeField(name: $0.name, type: reference(to: $0.typeOID, spelled: $0.format)) }
            }
            definitions[oid] = definition
        }
        var result: [UInt32: Definition] = [:]
        for root in roots {
            guard let (element, array) = userElement(of: root) else { continue }
            var ordered: [UserType] = []
            var placed = Set<UInt32>()
            order(element.oid, definitions: definitions, placed: &placed, into: &ordered, depth: 0)
            result[root] = Definition(reference: .user(namespace: element.namespace, name: element.name, array: array), types: ordered)
        }
        return result
    }

    /// The user-defined type `oid` is, or is an array of (then `array` is true); nil otherwise.
    private func userElement(of oid: UInt32) -> (type: PgType, array: Bool)? {
        guard let type = types[oid] else { return nil }
        if type.isUserDefined { return (type, false) }
        if type.category == "A", type.typtype == "b", type.element != 0, let element = types[type.element], element.isUserDefined {
            return (element, true)
        }
        return nil
    }

    private func reference(to oid: UInt32, spelled format: String) -> TypeReference {
        guard let (type, array) = userElement(of: oid) else { return TypeReference(builtin: format) }
        return .user(namespace: type.namespace, name: type.name, array: array)
    }

    /// Depth-first, each type after the types it uses (PostgreSQL types cannot use themselves).
    private func order(_ oid: UInt32, definitions: [UInt32: UserType], placed: inout Set<UInt32>, into ordered: inout [UserType], depth: Int) {
        guard depth < 64, !placed.contains(oid), let definition = definitions[oid], let type = types[oid] else { return }
        placed.insert(oid)
        let used = type.typtype == "d" ? [type.baseType] : []
        for dependency in used.compactMap({ userElement(of: $0)?.type.oid }) {
            order(dependency, definitions: definitions, placed: &placed, into: &ordered, depth: depth + 1)
        }
        for field in definition.fields where field.type.isUserType {
            if let dependency = definitions.first(where: { $0.value.isReferenced(by: field.type) })?.key {
                order(dependency, definitions: definitions, placed: &placed, into: &ordered, depth: depth + 1)
            }
        }
        ordered.append(definition)
    }

    private struct Field {
        var name: String
        var typeOID: UInt32
        var format: String
    }

    private func attributes(of composites: [PgType]) async throws -> [UInt32: [Field]] {
        guard !composites.isEmpty else { return [:] }
        let relids = "{" + composites.map { String($0.relid) }.joined(separator: ",") + "}"
        let result = try await connection.execute("""
            SELECT attrelid, attname, atttypid, format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = ANY($1::oid[]) AND attnum > 0 AND NOT attisdropped ORDER BY attrelid, attnum
            """, [.text(relids)])
        var fields: [UInt32: [Field]] = [:]
        for row in result.rows {
            guard let relid = UInt32(row[0] ?? ""), let name = row[1], let type = UInt32(row[2] ?? "") else { continue }
            fields[relid, default: []].append(Field(name: name, typeOID: type, format: row[3] ?? ""))
        }
        return fields
    }

    private func enumLabels(_ oids: Set<UInt32>) async throws -> [UInt32: [String]] {
        guard !oids.isEmpty else { return [:] }
        let result = try await connection.execute(
            "SELECT enumtypid, enumlabel FROM pg_enum WHERE enumtypid = ANY($1::oid[]) ORDER BY enumtypid, enumsortorder",
            [.text("{" + oids.map(String.init).joined(separator: ",") + "}")])
        var labels: [UInt32: [String]] = [:]
        for row in result.rows {
            guard let oid = UInt32(row[0] ?? ""), let label = row[1] else { continue }
            labels[oid, default: []].append(label)
        }
        return labels
    }

    private func domainChecks(_ oids: Set<UInt32>) async throws -> [UInt32: [DomainCheck]] {
        guard !oids.isEmpty else { return [:] }
        let result = try await connection.execute(
            "SELECT contypid, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = ANY($1::oid[]) AND contype = 'c' ORDER BY contypid, conname",
            [.text("{" + oids.map(String.init).joined(separator: ",") + "}")])
        var checks: [UInt32: [DomainCheck]] = [:]
        for row in result.rows {
            guard let oid = UInt32(row[0] ?? ""), let name = row[1], let definition = row[2] else { continue }
            checks[oid, default: []].append(DomainCheck(name: name, definition: definition))
        }
        return checks
    }
}
