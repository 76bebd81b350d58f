extension HostMessage {
    /// The message's name as in `protocol.proto`, for errors and logs.
    public var name: String {
        switch self {
        case .hello: "Hello"
        case .getSpec: "GetSpecRequest"
        case .check: "CheckRequest"
        case .discover: "DiscoverRequest"
        case .read: "ReadRequest"
        case .write: "WriteRequest"
        case .schema: "StreamSchema"
        case .records: "RecordBatch"
        case .state: "State"
        case .writeEnd: "WriteEnd"
        case .cancel: "Cancel"
        case .close: "Close"
        case .readAck: "ReadAck"
        case .resources: "ResourcesRequest"
        case .planWrite: "PlanWriteRequest"
        }
    }
}

extension PluginMessage {
    /// The message's name as in `protocol.proto`, for errors and logs.
    public var name: String {
        switch self {
        case .hello: "HelloReply"
        case .spec: "SpecResponse"
        case .check: "CheckResponse"
        case .catalog: "Catalog"
        case .schema: "StreamSchema"
        case .records: "RecordBatch"
        case .state: "State"
        case .stateAck: "StateAck"
        case .streamStatus: "StreamStatus"
        case .log: "Log"
        case .progress: "Progress"
        case .summary: "Summary"
        case .error: "Error"
        case .committedStates: "CommittedStates"
        case .resources: "ResourcesResponse"
        case .planWrite: "PlanWriteResponse"
        }
    }
}
