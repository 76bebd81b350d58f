/// A type named inside a column's user-type definitions: a type that is not user-defined, as the
/// source spells it (`numeric(12,2)`, `text[]`), or a user-defined type of the column's
/// ``Column/userTypes`` (or an array of it). See PROTOCOL.md §5.8.
public struct TypeReference: Sendable, Hashable {
    /// The source's spelling of a type that is not user-defined; empty for a user type.
    public var builtin: String
    public var userTypeNamespace: String
    public var userTypeName: String
    /// With a user type: an array of it.
    public var array: Bool

    public init(builtin: String = "", userTypeNamespace: String = "", userTypeName: String = "", array: Bool = false) {
        self.builtin = builtin
        self.userTypeNamespace = userTypeNamespace
        self.userTypeName = userTypeName
        self.array = array
    }

    /// A user-defined type, or an array of it.
    public static func user(namespace: String, name: String, array: Bool = false) -> TypeReference {
        TypeReference(userTypeNamespace: namespace, userTypeName: name, array: array)
    }

    /// Whether this names a user-defined type (rather than a built-in one).
    public var isUserType: Bool { !userTypeName.isEmpty }
}

/// What a user-defined type is.
public enum UserTypeKind: Int32, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case enumeration = 1
    case domain = 2
    case composite = 3
}

/// A domain's CHECK constraint: its name and its definition as the source prints it.
public struct DomainCheck: Sendable, Hashable {
    public var name: String
    public var definition: String

    public init(name: String, definition: String) {
        self.name = name
        self.definition = definition
    }
}

/// One field of a composite type.
public struct CompositeField: Sendable, Hashable {
    public var name: String
    public var type: TypeReference

    public init(name: String, type: TypeReference) {
        self.name = name
        self.type = type
    }
}

/// A user-defined enum, domain or composite type's definition, enough to create it again.
public struct UserType: Sendable, Hashable {
    public var namespace: String
    public var name: String
    public var kind: UserTypeKind
    /// Enum: the labels in their sort order.
    public var labels: [String]
    /// Domain: the base type, NOT NULL and CHECK constraints.
    public var base: TypeReference?
    public var notNull: Bool
    public var checks: [DomainCheck]
    /// Composite: the fields in order.
    public var fields: [CompositeField]

    public init(namespace: String, name: String, kind: UserTypeKind, labels: [String] = [], base: TypeReference? = nil,
                notNull: Bool = false, checks: [DomainCheck] = [], fields: [CompositeField] = []) {
        self.namespace = namespace
        self.name = name
        self.kind = kind
        self.labels = labels
        self.base = base
        self.notNull = notNull
        self.checks = checks
        self.fields = fields
    }

    /// Whether `reference` names this type (or an array of it), byte for byte.
    public func isReferenced(by reference: TypeReference) -> Bool {
        reference.isUserType && reference.userTypeNamespace.isExactly(namespace) && reference.userTypeName.isExactly(name)
    }

    /// Every user-defined type this one uses directly.
    public var references: [TypeReference] {
        ((base.map { [$0] } ?? []) + fields.map(\.type)).filter(\.isUserType)
    }
}
