import SluiceWire

/// The JSON form of a column's user-defined types in catalogs (`discover`'s output, `write
/// --catalog`): `"user_type": {"namespace", "name", "array"}` and `"user_types": [{"namespace",
/// "name", "kind": "enum" | "domain" | "composite", "labels", "base_type", "not_null", "checks":
/// [{"name", "definition"}], "fields": [{"name", "type"}]}]`, a type reference being
/// `{"builtin": "integer"}` or `{"namespace", "name", "array"}` (PROTOCOL.md §5.8).
enum UserTypeJSON {
    static let kindNames: [(UserTypeKind, String)] = [(.enumeration, "enum"), (.domain, "domain"), (.composite, "composite")]

    static func reference(_ reference: TypeReference) -> JSONValue {
        guard reference.isUserType else { return .object([("builtin", .string(reference.builtin))]) }
        return .object([("namespace", .string(reference.userTypeNamespace)), ("name", .string(reference.userTypeName)),
                        ("array", .bool(reference.array))])
    }

    static func type(_ type: UserType) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("namespace", .string(type.namespace)), ("name", .string(type.name)),
            ("kind", .string(kindNames.first { $0.0 == type.kind }?.1 ?? "unspecified")),
        ]
        switch type.kind {
        case .enumeration:
            members.append(("labels", .array(type.labels.map(JSONValue.string))))
        case .domain:
            if let base = type.base { members.append(("base_type", reference(base))) }
            members.append(("not_null", .bool(type.notNull)))
            members.append(("checks", .array(type.checks.map { .object([("name", .string($0.name)), ("definition", .string($0.definition))]) })))
        case .composite:
            members.append(("fields", .array(type.fields.map { .object([("name", .string($0.name)), ("type", reference($0.type))]) })))
        case .unspecified:
            break
        }
        return .object(members)
    }

    /// Reads a type reference; every problem is added with its path.
    static func reference(_ field: JSONFields, _ problems: inout [String]) -> TypeReference {
        field.rejectUnknownKeys(allowed: ["builtin", "namespace", "name", "array"], &problems)
        if let builtin = field.string("builtin", &problems) {
            if field.value["name"] != nil { problems.append("\(field.path): a type reference has either builtin or name") }
            return TypeReference(builtin: builtin)
        }
        let name = field.requiredString("name", &problems) ?? ""
        return .user(namespace: field.string("namespace", &problems) ?? "", name: name, array: field.bool("array", &problems) ?? false)
    }

    /// Reads a user type's definition; every problem is added with its path.
    static func type(_ field: JSONFields, _ problems: inout [String]) -> UserType {
        field.rejectUnknownKeys(allowed: ["namespace", "name", "kind", "labels", "base_type", "not_null", "checks", "fields"], &problems)
        var kind = UserTypeKind.unspecified
        if let kindName = field.requiredString("kind", &problems) {
            if let known = kindNames.first(where: { $0.1 == kindName }) {
                kind = known.0
            } else {
                problems.append("\(field.path.appending(key: "kind")): must be one of enum, domain, composite")
            }
        }
        let checks = field.objects("checks", required: false, &problems).map { check in
            check.rejectUnknownKeys(allowed: ["name", "definition"], &problems)
            return DomainCheck(name: check.requiredString("name", &problems) ?? "", definition: check.requiredString("definition", &problems) ?? "")
        }
        let fields = field.objects("fields", required: false, &problems).map { entry in
            entry.rejectUnknownKeys(allowed: ["name", "type"], &problems)
            let type = entry.object("type", &problems).map { reference($0, &problems) } ?? TypeReference()
            return CompositeField(name: entry.requiredString("name", &problems) ?? "", type: type)
        }
        return UserType(namespace: field.string("namespace", &problems) ?? "", name: field.requiredString("name", &problems) ?? "",
                        kind: kind, labels: field.strings("labels", &problems),
                        base: field.object("base_type", &problems).map { reference($0, &problems) },
                        notNull: field.bool("not_null", &problems) ?? false, checks: checks, fields: fields)
    }
}
