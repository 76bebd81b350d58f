import SluiceProtoC

// Swift → protobuf-c for the messages of protocol.proto (other than the envelopes).

extension Hello {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__Hello> {
        let message = arena.message(sluice__v1__hello__init)
        message.pointee.min_protocol_version = minProtocolVersion
        message.pointee.max_protocol_version = maxProtocolVersion
        message.pointee.host_name = arena.cString(hostName)
        message.pointee.host_version = arena.cString(hostVersion)
        message.pointee.log_level = logLevel.c()
        message.pointee.max_frame_size = maxFrameSize
        return message
    }
}

extension Capabilities {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__Capabilities> {
        let message = arena.message(sluice__v1__capabilities__init)
        message.pointee.n_read_modes = readModes.count
        message.pointee.read_modes = arena.map(readModes) { $0.c() }
        message.pointee.n_write_modes = writeModes.count
        message.pointee.write_modes = arena.map(writeModes) { $0.c() }
        message.pointee.n_features = features.count
        message.pointee.features = arena.cStrings(features)
        return message
    }
}

extension HelloReply {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__HelloReply> {
        let message = arena.message(sluice__v1__hello_reply__init)
        message.pointee.plugin_name = arena.cString(pluginName)
        message.pointee.plugin_version = arena.cString(pluginVersion)
        message.pointee.protocol_version = protocolVersion
        message.pointee.n_roles = roles.count
        message.pointee.roles = arena.map(roles) { $0.c() }
        message.pointee.capabilities = capabilities.cMessage(in: &arena)
        return message
    }
}

extension SpecResponse {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__SpecResponse> {
        let message = arena.message(sluice__v1__spec_response__init)
        message.pointee.config_schema_json = arena.cString(configSchemaJSON)
        message.pointee.documentation = arena.cString(documentation)
        return message
    }
}

extension CheckRequest {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__CheckRequest> {
        let message = arena.message(sluice__v1__check_request__init)
        message.pointee.config_json = arena.cString(configJSON)
        message.pointee.role = role.c()
        return message
    }
}

extension ResourcesRequest {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__ResourcesRequest> {
        let message = arena.message(sluice__v1__resources_request__init)
        message.pointee.config_json = arena.cString(configJSON)
        message.pointee.role = role.c()
        message.pointee.pipeline_id = arena.cString(pipelineID)
        message.pointee.release = release ? 1 : 0
        return message
    }
}

extension Resource {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__Resource> {
        let message = arena.message(sluice__v1__resource__init)
        message.pointee.kind = arena.cString(kind)
        message.pointee.name = arena.cString(name)
        message.pointee.detail = arena.cString(detail)
        message.pointee.released = released ? 1 : 0
        message.pointee.lag_bytes = lagBytes
        return message
    }
}

extension ResourcesResponse {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__ResourcesResponse> {
        let message = arena.message(sluice__v1__resources_response__init)
        message.pointee.n_resources = resources.count
        message.pointee.resources = arena.messages(resources) { $0.cMessage(in: &$1) }
        return message
    }
}

extension CheckResult {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__CheckResult> {
        let message = arena.message(sluice__v1__check_result__init)
        message.pointee.name = arena.cString(name)
        message.pointee.passed = passed ? 1 : 0
        message.pointee.code = arena.cString(code)
        message.pointee.message = arena.cString(self.message)
        return message
    }
}

extension CheckResponse {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__CheckResponse> {
        let message = arena.message(sluice__v1__check_response__init)
        message.pointee.passed = passed ? 1 : 0
        message.pointee.n_checks = checks.count
        message.pointee.checks = arena.messages(checks) { $0.cMessage(in: &$1) }
        return message
    }
}

extension DiscoverRequest {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__DiscoverRequest> {
        let message = arena.message(sluice__v1__discover_request__init)
        message.pointee.config_json = arena.cString(configJSON)
        return message
    }
}

extension UniqueKey {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__UniqueKey> {
        let message = arena.message(sluice__v1__unique_key__init)
        message.pointee.name = arena.cString(name)
        message.pointee.n_columns = columns.count
        message.pointee.columns = arena.cStrings(columns)
        return message
    }
}

extension StreamDescriptor {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__StreamDescriptor> {
        let message = arena.message(sluice__v1__stream_descriptor__init)
        message.pointee.schema = schema.cMessage(in: &arena)
        message.pointee.kind = arena.cString(kind)
        message.pointee.n_unique_keys = uniqueKeys.count
        message.pointee.unique_keys = arena.messages(uniqueKeys) { $0.cMessage(in: &$1) }
        message.pointee.n_cursor_candidates = cursorCandidates.count
        message.pointee.cursor_candidates = arena.cStrings(cursorCandidates)
        message.pointee.n_sync_modes = syncModes.count
        message.pointee.sync_modes = arena.map(syncModes) { $0.c() }
        message.pointee.estimated_rows = estimatedRows
        message.pointee.estimated_bytes = estimatedBytes
        message.pointee.readable = readable ? 1 : 0
        message.pointee.remedy = arena.cString(remedy)
        return message
    }
}

extension Catalog {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__Catalog> {
        let message = arena.message(sluice__v1__catalog__init)
        message.pointee.n_streams = streams.count
        message.pointee.streams = arena.messages(streams) { $0.cMessage(in: &$1) }
        return message
    }
}

extension ConfiguredStream {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__ConfiguredStream> {
        let message = arena.message(sluice__v1__configured_stream__init)
        message.pointee.schema = schema.cMessage(in: &arena)
        message.pointee.n_selected_columns = selectedColumns.count
        message.pointee.selected_columns = arena.cStrings(selectedColumns)
        message.pointee.sync_mode = syncMode.c()
        message.pointee.cursor_field = arena.cString(cursorField)
        message.pointee.filter = arena.cString(filter)
        message.pointee.limit = limit
        message.pointee.write_mode = writeMode.c()
        message.pointee.n_key_columns = keyColumns.count
        message.pointee.key_columns = arena.cStrings(keyColumns)
        message.pointee.postgres_rows = postgresRows ? 1 : 0
        return message
    }
}

extension ConfiguredCatalog {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__ConfiguredCatalog> {
        let message = arena.message(sluice__v1__configured_catalog__init)
        message.pointee.n_streams = streams.count
        message.pointee.streams = arena.messages(streams) { $0.cMessage(in: &$1) }
        return message
    }
}

extension State {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__State> {
        let message = arena.message(sluice__v1__state__init)
        message.pointee.id = id
        if let stream { message.pointee.stream = stream.cMessage(in: &arena) }
        message.pointee.data = arena.binary(data)
        message.pointee.stream_complete = streamComplete ? 1 : 0
        return message
    }
}

extension ReadRequest {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__ReadRequest> {
        let message = arena.message(sluice__v1__read_request__init)
        message.pointee.config_json = arena.cString(configJSON)
        message.pointee.catalog = catalog.cMessage(in: &arena)
        message.pointee.n_states = states.count
        message.pointee.states = arena.messages(states) { $0.cMessage(in: &$1) }
        return message
    }
}

extension WriteRequest {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__WriteRequest> {
        let message = arena.message(sluice__v1__write_request__init)
        message.pointee.config_json = arena.cString(configJSON)
        message.pointee.catalog = catalog.cMessage(in: &arena)
        message.pointee.source_name = arena.cString(sourceName)
        message.pointee.pipeline_id = arena.cString(pipelineID)
        return message
    }
}

extension PlanWriteRequest {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__PlanWriteRequest> {
        let message = arena.message(sluice__v1__plan_write_request__init)
        message.pointee.write = write.cMessage(in: &arena)
        return message
    }
}

extension TablePlan {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__TablePlan> {
        let message = arena.message(sluice__v1__table_plan__init)
        message.pointee.stream = stream.cMessage(in: &arena)
        message.pointee.target = arena.cString(target)
        message.pointee.action = arena.cString(action)
        message.pointee.n_statements = statements.count
        message.pointee.statements = arena.cStrings(statements)
        message.pointee.detail = arena.cString(detail)
        return message
    }
}

extension PlanWriteResponse {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__PlanWriteResponse> {
        let message = arena.message(sluice__v1__plan_write_response__init)
        message.pointee.n_tables = tables.count
        message.pointee.tables = arena.messages(tables) { $0.cMessage(in: &$1) }
        return message
    }
}

extension CommittedStates {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__CommittedStates> {
        let message = arena.message(sluice__v1__committed_states__init)
        message.pointee.n_states = states.count
        message.pointee.states = arena.messages(states) { $0.cMessage(in: &$1) }
        message.pointee.n_fresh_streams = freshStreams.count
        message.pointee.fresh_streams = arena.messages(freshStreams) { $0.cMessage(in: &$1) }
        message.pointee.n_postgres_rows_streams = postgresRowsStreams.count
        message.pointee.postgres_rows_streams = arena.messages(postgresRowsStreams) { $0.cMessage(in: &$1) }
        return message
    }
}

extension ReadAck {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__ReadAck> {
        let message = arena.message(sluice__v1__read_ack__init)
        message.pointee.state_id = stateID
        return message
    }
}

extension StateAck {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__StateAck> {
        let message = arena.message(sluice__v1__state_ack__init)
        message.pointee.id = id
        if let stream { message.pointee.stream = stream.cMessage(in: &arena) }
        return message
    }
}

extension StreamStatus {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__StreamStatus> {
        let message = arena.message(sluice__v1__stream_status__init)
        message.pointee.stream = stream.cMessage(in: &arena)
        message.pointee.status = status.c()
        message.pointee.message = arena.cString(self.message)
        return message
    }
}

extension LogMessage {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__Log> {
        let message = arena.message(sluice__v1__log__init)
        message.pointee.level = level.c()
        message.pointee.message = arena.cString(self.message)
        message.pointee.logger = arena.cString(logger)
        return message
    }
}

extension StreamProgress {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__Progress> {
        let message = arena.message(sluice__v1__progress__init)
        message.pointee.stream = stream.cMessage(in: &arena)
        message.pointee.records = records
        message.pointee.bytes = bytes
        message.pointee.estimated_records = estimatedRecords
        message.pointee.lag_bytes = lagBytes
        return message
    }
}

extension StreamSummary {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__StreamSummary> {
        let message = arena.message(sluice__v1__stream_summary__init)
        message.pointee.stream = stream.cMessage(in: &arena)
        message.pointee.records = records
        message.pointee.bytes = bytes
        message.pointee.inserted = inserted
        message.pointee.updated = updated
        message.pointee.deleted = deleted
        message.pointee.unmatched = unmatched
        message.pointee.nul_bytes_stripped = nulBytesStripped
        message.pointee.lag_bytes = lagBytes
        return message
    }
}

extension Summary {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__Summary> {
        let message = arena.message(sluice__v1__summary__init)
        message.pointee.n_streams = streams.count
        message.pointee.streams = arena.messages(streams) { $0.cMessage(in: &$1) }
        message.pointee.duration_micros = durationMicros
        return message
    }
}

extension PluginError {
    func cMessage(in arena: inout CArena) -> UnsafeMutablePointer<Sluice__V1__Error> {
        let message = arena.message(sluice__v1__error__init)
        message.pointee.category = category.c()
        message.pointee.retryable = retryable ? 1 : 0
        message.pointee.message = arena.cString(self.message)
        message.pointee.detail = arena.cString(detail)
        message.pointee.code = arena.cString(code)
        if let stream { message.pointee.stream = stream.cMessage(in: &arena) }
        return message
    }
}
