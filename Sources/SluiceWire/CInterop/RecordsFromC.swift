import SluiceProtoC

// protobuf-c → Swift for the messages of records.proto.

extension StreamID {
    init(c message: UnsafeMutablePointer<Sluice__V1__StreamId>) {
        self.init(namespace: CRead.string(message.pointee.namespace_), name: CRead.string(message.pointee.name))
    }

    /// A stream field that is always present in Swift: absent on the wire reads as the empty id.
    init(cOrEmpty message: UnsafeMutablePointer<Sluice__V1__StreamId>?) {
        if let message { self.init(c: message) } else { self.init(name: "") }
    }

    /// A stream field that may be absent.
    static func optional(c message: UnsafeMutablePointer<Sluice__V1__StreamId>?) -> StreamID? {
        message.map { StreamID(c: $0) }
    }
}

extension TypeKind {
    init(c value: Sluice__V1__TypeKind) throws(ProtocolError) {
        let raw = CRead.raw(value)
        guard let kind = TypeKind(rawValue: raw) else {
            throw ProtocolError(.invalidMessage, "unknown type kind \(raw)")
        }
        self = kind
    }
}

extension LogicalType {
    init(c message: UnsafeMutablePointer<Sluice__V1__LogicalType>?) throws(ProtocolError) {
        guard let message else { throw ProtocolError(.invalidMessage, "a column has no type") }
        self.init(try TypeKind(c: message.pointee.kind), elementKind: try TypeKind(c: message.pointee.element_kind),
                  precision: message.pointee.precision, scale: message.pointee.scale, maxLength: message.pointee.max_length)
        guard kind != .list || elementKind != .list else {
            throw ProtocolError(.invalidMessage, "a list type whose elements are lists: lists are one-dimensional (element_kind is never LIST)")
        }
    }
}

extension Column {
    init(c message: UnsafeMutablePointer<Sluice__V1__Column>) throws(ProtocolError) {
        self.init(name: CRead.string(message.pointee.name), type: try LogicalType(c: message.pointee.type),
                  nullable: message.pointee.nullable != 0, sourceType: CRead.string(message.pointee.source_type),
                  userType: message.pointee.user_type.map(TypeReference.init(c:)),
                  userTypes: try CRead.messages(message.pointee.user_types, message.pointee.n_user_types) { message throws(ProtocolError) in
                      try UserType(c: message)
                  })
    }
}

extension StreamSchema {
    init(c message: UnsafeMutablePointer<Sluice__V1__StreamSchema>) throws(ProtocolError) {
        self.init(stream: StreamID(cOrEmpty: message.pointee.stream),
                  columns: try CRead.messages(message.pointee.columns, message.pointee.n_columns) { message throws(ProtocolError) in
                      try Column(c: message)
                  },
                  primaryKey: CRead.strings(message.pointee.primary_key, message.pointee.n_primary_key))
    }

    /// A schema field that must be present.
    init(required message: UnsafeMutablePointer<Sluice__V1__StreamSchema>?, in container: String) throws(ProtocolError) {
        guard let message else { throw ProtocolError(.invalidMessage, "\(container) has no schema") }
        try self.init(c: message)
    }
}

extension ColumnVector {
    init(c message: UnsafeMutablePointer<Sluice__V1__ColumnVector>) {
        let vector = message.pointee
        self.init(
            validity: CRead.bytes(vector.validity),
            bools: CRead.bools(vector.bools, vector.n_bools),
            int32s: CRead.array(vector.int32s, vector.n_int32s),
            int64s: CRead.array(vector.int64s, vector.n_int64s),
            float32s: CRead.array(vector.float32s, vector.n_float32s),
            float64s: CRead.array(vector.float64s, vector.n_float64s),
            data: CRead.bytes(vector.data),
            offsets: CRead.array(vector.offsets, vector.n_offsets),
            intervalDays: CRead.array(vector.interval_days, vector.n_interval_days),
            child: vector.child.map { ColumnVector(c: $0) },
            unchanged: CRead.bytes(vector.unchanged)
        )
    }
}

extension RecordBatch {
    init(c message: UnsafeMutablePointer<Sluice__V1__RecordBatch>) throws(ProtocolError) {
        self.init(stream: StreamID(cOrEmpty: message.pointee.stream),
                  rowCount: Int(message.pointee.row_count),
                  columns: try CRead.messages(message.pointee.columns, message.pointee.n_columns) { ColumnVector(c: $0) },
                  operations: CRead.bytes(message.pointee.operations), postgresRows: CRead.bytes(message.pointee.postgres_rows))
    }
}
