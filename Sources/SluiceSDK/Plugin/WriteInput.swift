import SluiceWire

/// The host's input to a Write call, as an async sequence that ends at WriteEnd.
///
/// It checks every batch against its stream's latest schema before yielding it, and throws
/// a ``SluiceWire/PluginError`` when the input breaks off (protocol error, end of input
/// before WriteEnd) or `CancellationError` when the call is cancelled. A batch with CDC markers
/// (TRUNCATE rows, unchanged values) reaches only a destination announcing
/// ``SluiceWire/Feature/cdcApply``; any other gets `Error{PROTOCOL, INVALID_MESSAGE}`.
public final class WriteInput: AsyncSequence, @unchecked Sendable {
    public typealias Element = WriteEvent

    private let source: SessionInbox
    private var schemas: [StreamID: StreamSchema]
    /// Each stream's key when the catalog names one other than the schema's primary key.
    private let keyColumns: [StreamID: [String]]
    private let appliesChanges: Bool
    /// True once WriteEnd arrived.
    private(set) var reachedEnd = false

    init(source: SessionInbox, catalog: ConfiguredCatalog, appliesChanges: Bool) {
        self.source = source
        self.appliesChanges = appliesChanges
        var schemas: [StreamID: StreamSchema] = [:]
        var keyColumns: [StreamID: [String]] = [:]
        for stream in catalog.streams {
            schemas[stream.schema.stream] = stream.schema
            if !stream.keyColumns.isEmpty { keyColumns[stream.schema.stream] = stream.keyColumns }
        }
        self.schemas = schemas
        self.keyColumns = keyColumns
    }

    /// Reads the next event; `nil` after WriteEnd.
    public func next() async throws -> WriteEvent? {
        guard !reachedEnd else { return nil }
        try Task.checkCancellation()
        guard let message = try await source.nextMessage() else {
            try Task.checkCancellation()
            throw PluginError(category: .protocol, code: "INPUT_ENDED",
                              message: "the host's input ended in the middle of a Write call, before WriteEnd")
        }
        switch message {
        case .schema(let schema):
            schemas[schema.stream] = schema
            return .schema(schema)
        case .records(var batch):
            guard let schema = schemas[batch.stream] else {
                throw PluginError(category: .protocol, code: "UNKNOWN_STREAM",
                                  message: "records for stream \(batch.stream) arrived before any schema for it", stream: batch.stream)
            }
            do {
                try batch.validate(against: schema, keyColumns: keyColumns[batch.stream])
            } catch {
                throw PluginError(category: .protocol, code: error.code.rawValue, message: error.message, stream: batch.stream)
            }
            if !appliesChanges, let marker = batch.changeMarker {
                throw PluginError(category: .protocol, code: ProtocolError.Code.invalidMessage.rawValue,
                                  message: "the batch for \(batch.stream) holds \(marker), which only a destination announcing the feature \(Feature.cdcApply) applies; this one does not",
                                  stream: batch.stream)
            }
            return .records(batch)
        case .state(let state):
            return .state(state)
        case .writeEnd:
            reachedEnd = true
            return nil
        default:
            throw PluginError(category: .protocol, code: ProtocolError.Code.unexpectedMessage.rawValue,
                              message: "\(message.name) is not allowed inside a Write call")
        }
    }

    /// Iterates the events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let input: WriteInput
        /// The next event; `nil` after WriteEnd.
        public mutating func next() async throws -> WriteEvent? { try await input.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(input: self) }
}
