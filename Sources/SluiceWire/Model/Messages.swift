/// Everything a host sends to a plugin: one message per frame on the plugin's stdin.
public enum HostMessage: Sendable, Equatable {
    case hello(Hello)
    case getSpec
    case check(CheckRequest)
    case discover(DiscoverRequest)
    case read(ReadRequest)
    case write(WriteRequest)
    case schema(StreamSchema)
    case records(RecordBatch)
    case state(State)
    case writeEnd
    case cancel
    case close
    /// Inside a Read, to a source with ``Feature/readAcks``.
    case readAck(ReadAck)
    /// To a plugin with ``Feature/resources``.
    case resources(ResourcesRequest)
    /// To a destination with ``Feature/planWrite``.
    case planWrite(PlanWriteRequest)
}

/// Everything a plugin sends to a host: one message per frame on the plugin's stdout.
public enum PluginMessage: Sendable, Equatable {
    case hello(HelloReply)
    case spec(SpecResponse)
    case check(CheckResponse)
    case catalog(Catalog)
    case schema(StreamSchema)
    case records(RecordBatch)
    case state(State)
    case stateAck(StateAck)
    case streamStatus(StreamStatus)
    case log(LogMessage)
    case progress(StreamProgress)
    case summary(Summary)
    case error(PluginError)
    case committedStates(CommittedStates)
    case resources(ResourcesResponse)
    case planWrite(PlanWriteResponse)
}
