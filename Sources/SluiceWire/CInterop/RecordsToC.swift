import SluiceProtoC

// Swift → protobuf-c for the messages of records.proto. Every allocation goes to the arena.

extension StreamID {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__StreamId> {
        let message = arena.message(sluice__v1__stream_id__init)
        message.pointee.namespace_ = arena.cString(namespace)
        message.pointee.name = arena.cString(name)
        return message
    }
}

extension TypeKind {
    var cValue: Sluice__V1__TypeKind { .init(rawValue: .init(truncatingIfNeeded: rawValue)) }
}

extension LogicalType {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__LogicalType> {
        let message = arena.message(sluice__v1__logical_type__init)
        message.pointee.kind = kind.cValue
        message.pointee.element_kind = elementKind.cValue
        message.pointee.precision = precision
        message.pointee.scale = scale
        message.pointee.max_length = maxLength
        return message
    }
}

extension Column {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__Column> {
        let message = arena.message(sluice__v1__column__init)
        message.pointee.name = arena.cString(name)
        message.pointee.type = type.cMessage(in: &arena)
        message.pointee.nullable = nullable ? 1 : 0
        message.pointee.source_type = arena.cString(sourceType)
        if let userType { message.pointee.user_type = userType.cMessage(in: &arena) }
        message.pointee.n_user_types = userTypes.count
        message.pointee.user_types = arena.messages(userTypes) { $0.cMessage(in: &$1) }
        return message
    }
}

extension StreamSchema {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__StreamSchema> {
        let message = arena.message(sluice__v1__stream_schema__init)
        message.pointee.stream = stream.cMessage(in: &arena)
        message.pointee.n_columns = columns.count
        message.pointee.columns = arena.messages(columns) { $0.cMessage(in: &$1) }
        message.pointee.n_primary_key = primaryKey.count
        message.pointee.primary_key = arena.cStrings(primaryKey)
        return message
    }
}

extension ColumnVector {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__ColumnVector> {
        let message = arena.message(sluice__v1__column_vector__init)
        message.pointee.validity = arena.binary(validity)
        message.pointee.n_bools = bools.count
        message.pointee.bools = arena.map(bools) { $0 ? 1 : 0 }
        message.pointee.n_int32s = int32s.count
        message.pointee.int32s = arena.copy(int32s)
        message.pointee.n_int64s = int64s.count
        message.pointee.int64s = arena.copy(int64s)
        message.pointee.n_float32s = float32s.count
        message.pointee.float32s = arena.copy(float32s)
        message.pointee.n_float64s = float64s.count
        message.pointee.float64s = arena.copy(float64s)
        message.pointee.data = arena.binary(data)
        message.pointee.n_offsets = offsets.count
        message.pointee.offsets = arena.copy(offsets)
        message.pointee.n_interval_days = intervalDays.count
        message.pointee.interval_days = arena.copy(intervalDays)
        message.pointee.unchanged = arena.binary(unchanged)
        if let child { message.pointee.child = child.cMessage(in: &arena) }
        return message
    }
}

extension RecordBatch {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__RecordBatch> {
        let message = arena.message(sluice__v1__record_batch__init)
        message.pointee.stream = stream.cMessage(in: &arena)
        message.pointee.row_count = UInt32(rowCount)
        message.pointee.n_columns = columns.count
        message.pointee.columns = arena.messages(columns) { $0.cMessage(in: &$1) }
        message.pointee.operations = arena.binary(operations)
        message.pointee.postgres_rows = arena.binary(postgresRows)
        return message
    }
}
