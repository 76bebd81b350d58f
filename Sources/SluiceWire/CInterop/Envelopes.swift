import SluiceProtoC

// The two envelopes, HostMessage and PluginMessage: Swift ↔ protobuf-c, packing and unpacking.

extension HostMessage {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__HostMessage> {
        let message = arena.message(sluice__v1__host_message__init)
        switch self {
        case .hello(let hello):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_HELLO
            message.pointee.hello = hello.cMessage(in: &arena)
        case .getSpec:
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_GET_SPEC
            message.pointee.get_spec = arena.message(sluice__v1__get_spec_request__init)
        case .check(let request):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_CHECK
            message.pointee.check = request.cMessage(in: &arena)
        case .discover(let request):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_DISCOVER
            message.pointee.discover = request.cMessage(in: &arena)
        case .read(let request):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_READ
            message.pointee.read = request.cMessage(in: &arena)
        case .write(let request):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_WRITE
            message.pointee.write = request.cMessage(in: &arena)
        case .schema(let schema):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_SCHEMA
            message.pointee.schema = schema.cMessage(in: &arena)
        case .records(let batch):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_RECORDS
            message.pointee.records = batch.cMessage(in: &arena)
        case .state(let state):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_STATE
            message.pointee.state = state.cMessage(in: &arena)
        case .writeEnd:
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_WRITE_END
            message.pointee.write_end = arena.message(sluice__v1__write_end__init)
        case .cancel:
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_CANCEL
            message.pointee.cancel = arena.message(sluice__v1__cancel__init)
        case .close:
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_CLOSE
            message.pointee.close = arena.message(sluice__v1__close__init)
        case .readAck(let ack):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_READ_ACK
            message.pointee.read_ack = ack.cMessage(in: &arena)
        case .resources(let request):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_RESOURCES
            message.pointee.resources = request.cMessage(in: &arena)
        case .planWrite(let request):
            message.pointee.message_case = SLUICE__V1__HOST_MESSAGE__MESSAGE_PLAN_WRITE
            message.pointee.plan_write = request.cMessage(in: &arena)
        }
        return message
    }

    init(c message: UnsafeMutablePointer<Sluice__V1__HostMessage>) throws(ProtocolError) {
        let m = message.pointee
        switch m.message_case {
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_HELLO: self = .hello(Hello(c: try present(m.hello)))
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_GET_SPEC: self = .getSpec
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_CHECK: self = .check(CheckRequest(c: try present(m.check)))
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_DISCOVER: self = .discover(DiscoverRequest(c: try present(m.discover)))
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_READ: self = .read(try ReadRequest(c: try present(m.read)))
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_WRITE: self = .write(try WriteRequest(c: try present(m.write)))
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_SCHEMA: self = .schema(try StreamSchema(c: try present(m.schema)))
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_RECORDS: self = .records(try RecordBatch(c: try present(m.records)))
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_STATE: self = .state(State(c: try present(m.state)))
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_WRITE_END: self = .writeEnd
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_CANCEL: self = .cancel
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_CLOSE: self = .close
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_READ_ACK: self = .readAck(ReadAck(c: try present(m.read_ack)))
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_RESOURCES: self = .resources(ResourcesRequest(c: try present(m.resources)))
        case SLUICE__V1__HOST_MESSAGE__MESSAGE_PLAN_WRITE: self = .planWrite(try PlanWriteRequest(c: try present(m.plan_write)))
        default: throw ProtocolError(.invalidMessage, "the HostMessage holds no message this protocol version knows")
        }
    }
}

extension PluginMessage {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__PluginMessage> {
        let message = arena.message(sluice__v1__plugin_message__init)
        switch self {
        case .hello(let reply):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_HELLO
            message.pointee.hello = reply.cMessage(in: &arena)
        case .spec(let spec):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_SPEC
            message.pointee.spec = spec.cMessage(in: &arena)
        case .check(let response):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_CHECK
            message.pointee.check = response.cMessage(in: &arena)
        case .catalog(let catalog):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_CATALOG
            message.pointee.catalog = catalog.cMessage(in: &arena)
        case .schema(let schema):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_SCHEMA
            message.pointee.schema = schema.cMessage(in: &arena)
        case .records(let batch):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_RECORDS
            message.pointee.records = batch.cMessage(in: &arena)
        case .state(let state):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_STATE
            message.pointee.state = state.cMessage(in: &arena)
        case .stateAck(let ack):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_STATE_ACK
            message.pointee.state_ack = ack.cMessage(in: &arena)
        case .streamStatus(let status):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_STREAM_STATUS
            message.pointee.stream_status = status.cMessage(in: &arena)
        case .log(let log):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_LOG
            message.pointee.log = log.cMessage(in: &arena)
        case .progress(let progress):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_PROGRESS
            message.pointee.progress = progress.cMessage(in: &arena)
        case .summary(let summary):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_SUMMARY
            message.pointee.summary = summary.cMessage(in: &arena)
        case .error(let error):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_ERROR
            message.pointee.error = error.cMessage(in: &arena)
        case .committedStates(let committed):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_COMMITTED_STATES
            message.pointee.committed_states = committed.cMessage(in: &arena)
        case .resources(let response):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_RESOURCES
            message.pointee.resources = response.cMessage(in: &arena)
        case .planWrite(let response):
            message.pointee.message_case = SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_PLAN_WRITE
            message.pointee.plan_write = response.cMessage(in: &arena)
        }
        return message
    }

    init(c message: UnsafeMutablePointer<Sluice__V1__PluginMessage>) throws(ProtocolError) {
        let m = message.pointee
        switch m.message_case {
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_HELLO: self = .hello(HelloReply(c: try present(m.hello)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_SPEC: self = .spec(SpecResponse(c: try present(m.spec)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_CHECK: self = .check(try CheckResponse(c: try present(m.check)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_CATALOG: self = .catalog(try Catalog(c: try present(m.catalog)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_SCHEMA: self = .schema(try StreamSchema(c: try present(m.schema)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_RECORDS: self = .records(try RecordBatch(c: try present(m.records)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_STATE: self = .state(State(c: try present(m.state)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_STATE_ACK: self = .stateAck(StateAck(c: try present(m.state_ack)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_STREAM_STATUS: self = .streamStatus(StreamStatus(c: try present(m.stream_status)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_LOG: self = .log(LogMessage(c: try present(m.log)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_PROGRESS: self = .progress(StreamProgress(c: try present(m.progress)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_SUMMARY: self = .summary(try Summary(c: try present(m.summary)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_ERROR: self = .error(PluginError(c: try present(m.error)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_COMMITTED_STATES:
            self = .committedStates(try CommittedStates(c: try present(m.committed_states)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_RESOURCES: self = .resources(try ResourcesResponse(c: try present(m.resources)))
        case SLUICE__V1__PLUGIN_MESSAGE__MESSAGE_PLAN_WRITE: self = .planWrite(try PlanWriteResponse(c: try present(m.plan_write)))
        default: throw ProtocolError(.invalidMessage, "the PluginMessage holds no message this protocol version knows")
        }
    }
}

/// The message a set oneof case points at (protobuf-c always sets it; checked all the same).
private func present<M>(_ message: UnsafeMutablePointer<M>?) throws(ProtocolError) -> UnsafeMutablePointer<M> {
    guard let message else { throw ProtocolError(.invalidMessage, "a oneof case is set without its message") }
    return message
}

/// Packs and unpacks the envelopes with protobuf-c.
enum CCodec {
    /// Field numbers of `records` in each envelope, for ``NestingScan`` and for forwarding a
    /// batch as it came (``WireCodec/hostRecordsPayload(forwarding:)``).
    static let hostRecordsField: UInt64 = 8
    static let pluginRecordsField: UInt64 = 6

    static func pack(_ message: HostMessage) -> [UInt8] {
        CArena.with { arena in
            let c = message.cMessage(in: &arena)
            return bytes(count: sluice__v1__host_message__get_packed_size(c)) { sluice__v1__host_message__pack(c, $0) }
        }
    }

    static func pack(_ message: PluginMessage) -> [UInt8] {
        CArena.with { arena in
            let c = message.cMessage(in: &arena)
            return bytes(count: sluice__v1__plugin_message__get_packed_size(c)) { sluice__v1__plugin_message__pack(c, $0) }
        }
    }

    static func unpackHostMessage(_ payload: [UInt8]) throws(ProtocolError) -> HostMessage {
        try unpack(payload, name: "HostMessage", recordsField: hostRecordsField,
                   unpack: sluice__v1__host_message__unpack, free: sluice__v1__host_message__free_unpacked,
                   convert: { message throws(ProtocolError) in try HostMessage(c: message) })
    }

    static func unpackPluginMessage(_ payload: [UInt8]) throws(ProtocolError) -> PluginMessage {
        try unpack(payload, name: "PluginMessage", recordsField: pluginRecordsField,
                   unpack: sluice__v1__plugin_message__unpack, free: sluice__v1__plugin_message__free_unpacked,
                   convert: { message throws(ProtocolError) in try PluginMessage(c: message) })
    }

    /// `count` bytes written by `pack`, which returns how many it wrote.
    private static func bytes(count: Int, _ pack: (UnsafeMutablePointer<UInt8>) -> Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = pack(buffer.baseAddress!)
            precondition(initialized == count, "protobuf-c packed \(initialized) bytes, announced \(count)")
        }
    }

    private static func unpack<M, R>(
        _ payload: [UInt8], name: String, recordsField: UInt64,
        unpack: (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?) -> UnsafeMutablePointer<M>?,
        free: (UnsafeMutablePointer<M>?, UnsafeMutablePointer<ProtobufCAllocator>?) -> Void,
        convert: (UnsafeMutablePointer<M>) throws(ProtocolError) -> R
    ) throws(ProtocolError) -> R {
        // protobuf-c 1.4.1 counts repeated elements in 32 bits; no frame is this large anyway.
        guard payload.count < Int(UInt32.max) else {
            throw ProtocolError(.undecodableMessage, "a \(payload.count)-byte payload is too large to decode")
        }
        let result: Result<R, ProtocolError> = payload.withUnsafeBytes { raw in
            do throws(ProtocolError) {
                try NestingScan.check(raw, recordsField: recordsField)
                let bytes = raw.bindMemory(to: UInt8.self)
                return .success(try UnpackAllocator.with(budget: UnpackAllocator.budget(forPayloadSize: raw.count)) { allocator throws(ProtocolError) in
                    guard let message = unpack(allocator, bytes.count, bytes.baseAddress) else {
                        throw ProtocolError(.undecodableMessage, "the payload is not a valid protobuf \(name)")
                    }
                    defer { free(message, allocator) }
                    return try convert(message)
                })
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
