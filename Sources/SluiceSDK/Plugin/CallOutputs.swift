public import SluiceWire

/// Where a Read handler sends what it reads. Each send waits until the frame is written,
/// so a slow host slows the read and memory stays bounded.
public struct ReadOutput: Sendable {
    let writer: FrameWriter
    /// Logger and cancellation state of the call.
    public let context: CallContext
    /// The host's acknowledgements of this Read's states; they arrive only when the plugin
    /// announces ``SluiceWire/Feature/readAcks`` (PROTOCOL.md §8.2).
    public let acknowledgements: ReadAcknowledgements

    /// The largest frame the host accepts: every message sent must encode under it.
    public var maxFrameSize: Int { context.maxFrameSize }

    /// Announces the column order of the batches that follow for a stream.
    public func send(_ schema: StreamSchema) async throws {
        try await writer.sendCallMessage(.schema(schema), stream: schema.stream)
    }

    /// Sends a batch of rows.
    public func send(_ batch: RecordBatch) async throws {
        // Not Task.checkCancellation(): with a typed-throws await after it, Swift 6.3.1's
        // release build crashes while splitting this coroutine.
        if Task.isCancelled { throw CancellationError() }
        try await writer.sendCallMessage(.records(batch), stream: batch.stream)
    }

    /// Emits a checkpoint covering every batch sent before it.
    public func checkpoint(_ state: State) async throws {
        acknowledgements.noteSent(state.id)
        try await writer.sendCallMessage(.state(state), stream: state.stream)
    }

    /// Reports a stream's status.
    public func status(_ status: StreamStatus) async throws {
        try await writer.sendCallMessage(.streamStatus(status), stream: status.stream)
    }

    /// Reports progress.
    public func progress(_ progress: StreamProgress) async throws {
        try await writer.sendCallMessage(.progress(progress), stream: progress.stream)
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
        try await writer.sendCallMessage(.committedStates(committed), stream: nil)
    }

    /// Acknowledges a state: call only once everything received before it is committed.
    public func acknowledge(_ state: State) async throws {
        try await writer.sendCallMessage(.stateAck(StateAck(id: state.id, stream: state.stream)), stream: state.stream)
    }

    /// Reports a stream's status.
    public func status(_ status: StreamStatus) async throws {
        try await writer.sendCallMessage(.streamStatus(status), stream: status.stream)
    }

    /// Reports progress.
    public func progress(_ progress: StreamProgress) async throws {
        try await writer.sendCallMessage(.progress(progress), stream: progress.stream)
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

extension FrameWriter {
    /// Sends a message of the running call. A message over the frame limit, or a host that
    /// stopped reading, fails the call with `Error{PROTOCOL, TRANSPORT_FAILED}` (PROTOCOL.md
    /// §2.2, §7.3) whatever the handler does with the error: it is a ``PluginError`` already.
    func sendCallMessage(_ message: PluginMessage, stream: StreamID?) async throws(PluginError) {
        do {
            try await send(payload: WireCodec.encode(message))
        } catch {
            throw PluginError(category: .protocol, code: "TRANSPORT_FAILED", message: error.message, stream: stream)
        }
    }
}
