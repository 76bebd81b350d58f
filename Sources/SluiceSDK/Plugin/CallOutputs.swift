public import SluiceWire

/// Where a Read handler sends what it reads. Each send waits until the frame is written,
/// so a slow host slows the read and memory stays bounded.
public struct ReadOutput: Sendable {
    let writer: FrameWriter
    /// Logger and cancellation state of the call.
    public let context: CallContext

    /// Announces the column order of the batches that follow for a stream.
    public func send(_ schema: StreamSchema) async throws {
        try await writer.send(payload: WireCodec.encode(PluginMessage.schema(schema)))
    }

    /// Sends a batch of rows.
    public func send(_ batch: RecordBatch) async throws {
        // Not Task.checkCancellation(): with a typed-throws await after it, Swift 6.3.1's
        // release build crashes while splitting this coroutine.
        if Task.isCancelled { throw CancellationError() }
        try await writer.send(payload: WireCodec.encode(PluginMessage.records(batch)))
    }

    /// Emits a checkpoint covering every batch sent before it.
    public func checkpoint(_ state: State) async throws {
        try await writer.send(payload: WireCodec.encode(PluginMessage.state(state)))
    }

    /// Reports a stream's status.
    public func status(_ status: StreamStatus) async throws {
        try await writer.send(payload: WireCodec.encode(PluginMessage.streamStatus(status)))
    }

    /// Reports progress.
    public func progress(_ progress: StreamProgress) async throws {
        try await writer.send(payload: WireCodec.encode(PluginMessage.progress(progress)))
    }
}

/// Where a Write handler reports back to the host.
public struct WriteOutput: Sendable {
    let writer: FrameWriter
    /// Logger and cancellation state of the call.
    public let context: CallContext

    /// Reports the states committed for the Write's pipeline: the Write's first message, sent by
    /// a destination with ``Feature/committedStates`` when the request has a pipeline id.
    public func report(_ committed: CommittedStates) async throws {
        try await writer.send(payload: WireCodec.encode(PluginMessage.committedStates(committed)))
    }

    /// Acknowledges a state: call only once everything received before it is committed.
    public func acknowledge(_ state: State) async throws {
        try await writer.send(payload: WireCodec.encode(PluginMessage.stateAck(StateAck(id: state.id, stream: state.stream))))
    }

    /// Reports a stream's status.
    public func status(_ status: StreamStatus) async throws {
        try await writer.send(payload: WireCodec.encode(PluginMessage.streamStatus(status)))
    }

    /// Reports progress.
    public func progress(_ progress: StreamProgress) async throws {
        try await writer.send(payload: WireCodec.encode(PluginMessage.progress(progress)))
    }
}

/// One item of a Write call's input.
public enum WriteEvent: Sendable {
    /// The schema of the batches that follow for a stream.
    case schema(StreamSchema)
    /// Rows, already checked against their stream's schema.
    case records(RecordBatch)
    /// A checkpoint to acknowledge once everything before it is committed.
    case state(State)
}
