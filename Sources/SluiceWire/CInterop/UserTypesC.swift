import SluiceProtoC

// Swift ↔ protobuf-c for the user-defined type messages of records.proto. Every allocation of
// the Swift → C direction goes to the arena.

extension TypeReference {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__TypeReference> {
        let message = arena.message(sluice__v1__type_reference__init)
        message.pointee.builtin = arena.cString(builtin)
        message.pointee.user_type_namespace = arena.cString(userTypeNamespace)
        message.pointee.user_type_name = arena.cString(userTypeName)
        message.pointee.array = array ? 1 : 0
        return message
    }

    init(c message: UnsafeMutablePointer<Sluice__V1__TypeReference>) {
        self.init(builtin: CRead.string(message.pointee.builtin), userTypeNamespace: CRead.string(message.pointee.user_type_namespace),
                  userTypeName: CRead.string(message.pointee.user_type_name), array: message.pointee.array != 0)
    }
}

extension UserType {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__UserType> {
        let message = arena.message(sluice__v1__user_type__init)
        message.pointee.namespace_ = arena.cString(namespace)
        message.pointee.name = arena.cString(name)
        message.pointee.kind = .init(rawValue: .init(truncatingIfNeeded: kind.rawValue))
        message.pointee.n_labels = labels.count
        message.pointee.labels = arena.cStrings(labels)
        if let base { message.pointee.base_type = base.cMessage(in: &arena) }
        message.pointee.not_null = notNull ? 1 : 0
        message.pointee.n_checks = checks.count
        message.pointee.checks = arena.messages(checks) { check, arena in
            let message = arena.message(sluice__v1__domain_check__init)
            message.pointee.name = arena.cString(check.name)
            message.pointee.definition = arena.cString(check.definition)
            return message
        }
        message.pointee.n_fields = fields.count
        message.pointee.fields = arena.messages(fields) { field, arena in
            let message = arena.message(sluice__v1__composite_field__init)
            message.pointee.name = arena.cString(field.name)
            message.pointee.type = field.type.cMessage(in: &arena)
            return message
        }
        return message
    }

    /// An unknown kind reads as ``UserTypeKind/unspecified`` (proto3 enums are open); a
    /// destination refuses such a type when it uses it.
    init(c message: UnsafeMutablePointer<Sluice__V1__UserType>) throws(ProtocolError) {
        let checks = try CRead.messages(message.pointee.checks, message.pointee.n_checks) { check in
            DomainCheck(name: CRead.string(check.pointee.name), definition: CRead.string(check.pointee.definition))
        }
        let fields = try CRead.messages(message.pointee.fields, message.pointee.n_fields) { field in
            CompositeField(name: CRead.string(field.pointee.name), type: field.pointee.type.map(TypeReference.init(c:)) ?? TypeReference())
        }
        self.init(namespace: CRead.string(message.pointee.namespace_), name: CRead.string(message.pointee.name),
                  kind: UserTypeKind(rawValue: CRead.raw(message.pointee.kind)) ?? .unspecified,
                  labels: CRead.strings(message.pointee.labels, message.pointee.n_labels),
                  base: message.pointee.base_type.map(TypeReference.init(c:)), notNull: message.pointee.not_null != 0,
                  checks: checks, fields: fields)
    }
}
