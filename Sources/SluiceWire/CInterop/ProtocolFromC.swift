import SluiceProtoC

// protobuf-c → Swift for the messages of protocol.proto (other than the envelopes).

extension Hello {
    init(c message: UnsafeMutablePointer<Sluice__V1__Hello>) {
        let m = message.pointee
        self.init(minProtocolVersion: m.min_protocol_version, maxProtocolVersion: m.max_protocol_version,
                  hostName: CRead.string(m.host_name), hostVersion: CRead.string(m.host_version),
                  logLevel: LogLevel(c: m.log_level), maxFrameSize: m.max_frame_size)
    }
}

extension Capabilities {
    init(c message: UnsafeMutablePointer<Sluice__V1__Capabilities>?) {
        guard let m = message?.pointee else {
            self.init()
            return
        }
        self.init(readModes: CRead.enums(m.read_modes, m.n_read_modes) { SyncMode(c: $0) },
                  writeModes: CRead.enums(m.write_modes, m.n_write_modes) { WriteMode(c: $0) },
                  features: CRead.strings(m.features, m.n_features))
    }
}

extension HelloReply {
    init(c message: UnsafeMutablePointer<Sluice__V1__HelloReply>) {
        let m = message.pointee
        self.init(pluginName: CRead.string(m.plugin_name), pluginVersion: CRead.string(m.plugin_version),
                  protocolVersion: m.protocol_version, roles: CRead.enums(m.roles, m.n_roles) { Role(c: $0) },
                  capabilities: Capabilities(c: m.capabilities))
    }
}

extension SpecResponse {
    init(c message: UnsafeMutablePointer<Sluice__V1__SpecResponse>) {
        self.init(configSchemaJSON: CRead.string(message.pointee.config_schema_json),
                  documentation: CRead.string(message.pointee.documentation))
    }
}

extension CheckRequest {
    init(c message: UnsafeMutablePointer<Sluice__V1__CheckRequest>) {
        self.init(configJSON: CRead.string(message.pointee.config_json), role: Role(c: message.pointee.role))
    }
}

extension ResourcesRequest {
    init(c message: UnsafeMutablePointer<Sluice__V1__ResourcesRequest>) {
        let m = message.pointee
        self.init(configJSON: CRead.string(m.config_json), role: Role(c: m.role), pipelineID: CRead.string(m.pipeline_id), release: m.release != 0)
    }
}

extension Resource {
    init(c message: UnsafeMutablePointer<Sluice__V1__Resource>) {
        let m = message.pointee
        self.init(kind: CRead.string(m.kind), name: CRead.string(m.name), detail: CRead.string(m.detail), released: m.released != 0,
                  lagBytes: m.lag_bytes)
    }
}

extension ResourcesResponse {
    init(c message: UnsafeMutablePointer<Sluice__V1__ResourcesResponse>) throws(ProtocolError) {
        self.init(resources: try CRead.messages(message.pointee.resources, message.pointee.n_resources) { Resource(c: $0) })
    }
}

extension CheckResult {
    init(c message: UnsafeMutablePointer<Sluice__V1__CheckResult>) {
        let m = message.pointee
        self.init(name: CRead.string(m.name), passed: m.passed != 0, code: CRead.string(m.code), message: CRead.string(m.message))
    }
}

extension CheckResponse {
    init(c message: UnsafeMutablePointer<Sluice__V1__CheckResponse>) throws(ProtocolError) {
        self.init(passed: message.pointee.passed != 0,
                  checks: try CRead.messages(message.pointee.checks, message.pointee.n_checks) { CheckResult(c: $0) })
    }
}

extension DiscoverRequest {
    init(c message: UnsafeMutablePointer<Sluice__V1__DiscoverRequest>) {
        self.init(configJSON: CRead.string(message.pointee.config_json))
    }
}

extension UniqueKey {
    init(c message: UnsafeMutablePointer<Sluice__V1__UniqueKey>) {
        self.init(name: CRead.string(message.pointee.name), columns: CRead.strings(message.pointee.columns, message.pointee.n_columns))
    }
}

extension StreamDescriptor {
    init(c message: UnsafeMutablePointer<Sluice__V1__StreamDescriptor>) throws(ProtocolError) {
        let m = message.pointee
        self.init(schema: try StreamSchema(required: m.schema, in: "a StreamDescriptor"),
                  kind: CRead.string(m.kind),
                  uniqueKeys: try CRead.messages(m.unique_keys, m.n_unique_keys) { UniqueKey(c: $0) },
                  cursorCandidates: CRead.strings(m.cursor_candidates, m.n_cursor_candidates),
                  syncModes: CRead.enums(m.sync_modes, m.n_sync_modes) { SyncMode(c: $0) },
                  estimatedRows: m.estimated_rows, estimatedBytes: m.estimated_bytes,
                  readable: m.readable != 0, remedy: CRead.string(m.remedy))
    }
}

extension Catalog {
    init(c message: UnsafeMutablePointer<Sluice__V1__Catalog>) throws(ProtocolError) {
        self.init(streams: try CRead.messages(message.pointee.streams, message.pointee.n_streams) { message throws(ProtocolError) in
            try StreamDescriptor(c: message)
        })
    }
}

extension ConfiguredStream {
    init(c message: UnsafeMutablePointer<Sluice__V1__ConfiguredStream>) throws(ProtocolError) {
        let m = message.pointee
        self.init(schema: try StreamSchema(required: m.schema, in: "a ConfiguredStream"),
                  selectedColumns: CRead.strings(m.selected_columns, m.n_selected_columns),
                  syncMode: SyncMode(c: m.sync_mode), cursorField: CRead.string(m.cursor_field),
                  filter: CRead.string(m.filter), limit: m.limit, writeMode: WriteMode(c: m.write_mode),
                  keyColumns: CRead.strings(m.key_columns, m.n_key_columns), postgresRows: m.postgres_rows != 0)
    }
}

extension ConfiguredCatalog {
    init(c message: UnsafeMutablePointer<Sluice__V1__ConfiguredCatalog>?) throws(ProtocolError) {
        guard let message else {
            self.init(streams: [])
            return
        }
        self.init(streams: try CRead.messages(message.pointee.streams, message.pointee.n_streams) { message throws(ProtocolError) in
            try ConfiguredStream(c: message)
        })
    }
}

extension State {
    init(c message: UnsafeMutablePointer<Sluice__V1__State>) {
        self.init(id: message.pointee.id, stream: StreamID.optional(c: message.pointee.stream), data: CRead.bytes(message.pointee.data),
                  streamComplete: message.pointee.stream_complete != 0)
    }
}

extension ReadRequest {
    init(c message: UnsafeMutablePointer<Sluice__V1__ReadRequest>) throws(ProtocolError) {
        self.init(configJSON: CRead.string(message.pointee.config_json),
                  catalog: try ConfiguredCatalog(c: message.pointee.catalog),
                  states: try CRead.messages(message.pointee.states, message.pointee.n_states) { State(c: $0) })
    }
}

extension WriteRequest {
    init(c message: UnsafeMutablePointer<Sluice__V1__WriteRequest>) throws(ProtocolError) {
        self.init(configJSON: CRead.string(message.pointee.config_json),
                  catalog: try ConfiguredCatalog(c: message.pointee.catalog),
                  sourceName: CRead.string(message.pointee.source_name),
                  pipelineID: CRead.string(message.pointee.pipeline_id))
    }
}

extension PlanWriteRequest {
    init(c message: UnsafeMutablePointer<Sluice__V1__PlanWriteRequest>) throws(ProtocolError) {
        guard let write = message.pointee.write else { throw ProtocolError(.invalidMessage, "the PlanWriteRequest holds no WriteRequest") }
        self.init(write: try WriteRequest(c: write))
    }
}

extension TablePlan {
    init(c message: UnsafeMutablePointer<Sluice__V1__TablePlan>) {
        let m = message.pointee
        self.init(stream: StreamID(cOrEmpty: m.stream), target: CRead.string(m.target), action: CRead.string(m.action),
                  statements: CRead.strings(m.statements, m.n_statements), detail: CRead.string(m.detail))
    }
}

extension PlanWriteResponse {
    init(c message: UnsafeMutablePointer<Sluice__V1__PlanWriteResponse>) throws(ProtocolError) {
        self.init(tables: try CRead.messages(message.pointee.tables, message.pointee.n_tables) { TablePlan(c: $0) })
    }
}

extension CommittedStates {
    init(c message: UnsafeMutablePointer<Sluice__V1__CommittedStates>) throws(ProtocolError) {
        self.init(states: try CRead.messages(message.pointee.states, message.pointee.n_states) { State(c: $0) },
                  freshStreams: try CRead.messages(message.pointee.fresh_streams, message.pointee.n_fresh_streams) { StreamID(cOrEmpty: $0) },
                  postgresRowsStreams: try CRead.messages(message.pointee.postgres_rows_streams, message.pointee.n_postgres_rows_streams) {
                      StreamID(cOrEmpty: $0)
                  })
    }
}

extension ReadAck {
    init(c message: UnsafeMutablePointer<Sluice__V1__ReadAck>) {
        self.init(stateID: message.pointee.state_id)
    }
}

extension StateAck {
    init(c message: UnsafeMutablePointer<Sluice__V1__StateAck>) {
        self.init(id: message.pointee.id, stream: StreamID.optional(c: message.pointee.stream))
    }
}

extension StreamStatus {
    init(c message: UnsafeMutablePointer<Sluice__V1__StreamStatus>) {
        self.init(stream: StreamID(cOrEmpty: message.pointee.stream), status: StreamStatusKind(c: message.pointee.status),
                  message: CRead.string(message.pointee.message))
    }
}

extension LogMessage {
    init(c message: UnsafeMutablePointer<Sluice__V1__Log>) {
        self.init(level: LogLevel(c: message.pointee.level), message: CRead.string(message.pointee.message),
                  logger: CRead.string(message.pointee.logger))
    }
}

extension StreamProgress {
    init(c message: UnsafeMutablePointer<Sluice__V1__Progress>) {
        let m = message.pointee
        self.init(stream: StreamID(cOrEmpty: m.stream), records: m.records, bytes: m.bytes, estimatedRecords: m.estimated_records,
                  lagBytes: m.lag_bytes)
    }
}

extension StreamSummary {
    init(c message: UnsafeMutablePointer<Sluice__V1__StreamSummary>) {
        let m = message.pointee
        self.init(stream: StreamID(cOrEmpty: m.stream))
        records = m.records
        bytes = m.bytes
        inserted = m.inserted
        updated = m.updated
        deleted = m.deleted
        unmatched = m.unmatched
        nulBytesStripped = m.nul_bytes_stripped
        lagBytes = m.lag_bytes
    }
}

extension Summary {
    init(c message: UnsafeMutablePointer<Sluice__V1__Summary>) throws(ProtocolError) {
        self.init(streams: try CRead.messages(message.pointee.streams, message.pointee.n_streams) { StreamSummary(c: $0) },
                  durationMicros: message.pointee.duration_micros)
    }
}

extension PluginError {
    init(c message: UnsafeMutablePointer<Sluice__V1__Error>) {
        let m = message.pointee
        self.init(category: ErrorCategory(c: m.category), code: CRead.string(m.code), message: CRead.string(m.message),
                  detail: CRead.string(m.detail), retryable: m.retryable != 0, stream: StreamID.optional(c: m.stream))
    }
}
